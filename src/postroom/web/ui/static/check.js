// Test connection, live: the form's POST is sent with Accept: application/x-ndjson and
// the page shows each step of the check as the server reports it (✓/✗, figure, facts,
// error, hint), then the verdict. Without this script (or without fetch and streams)
// the form posts as usual and the page answers with every step at once.
// Nothing is built from HTML: every value is set with textContent.
"use strict";
(function () {
  var area = document.getElementById("check");
  if (!area) { return; }
  var names = (area.getAttribute("data-steps") || "").split(" ");
  var labels = (area.getAttribute("data-labels") || "").split("|");
  var SAID = { ok: "passed:", bad: "failed:", skip: "not run:" };
  var live = !!(window.fetch && window.TextDecoder && window.ReadableStream);

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function pending(name, label) {
    var item = el("li", "step pending");
    item.setAttribute("data-step", name);
    var mark = el("span", "mark", "…");
    mark.setAttribute("aria-hidden", "true");
    item.appendChild(mark);
    item.appendChild(el("span", "visually-hidden", "running:"));
    item.appendChild(el("b", "step-name", label || name));
    item.appendChild(el("span", "figure", "running"));
    return item;
  }

  function filled(step) {
    var state = SAID.hasOwnProperty(step.state) ? step.state : "skip";
    var item = el("li", "step " + state);
    item.setAttribute("data-step", String(step.name));
    var mark = el("span", "mark", step.mark);
    mark.setAttribute("aria-hidden", "true");
    item.appendChild(mark);
    item.appendChild(el("span", "visually-hidden", SAID[state]));
    item.appendChild(el("b", "step-name", step.label));
    item.appendChild(el("span", "figure", step.figure));
    if (step.facts && step.facts.length) {
      var facts = el("dl", "facts");
      step.facts.forEach(function (pair) {
        facts.appendChild(el("dt", null, pair[0]));
        facts.appendChild(el("dd", null, pair[1]));
      });
      item.appendChild(facts);
    }
    if (step.hint) {
      item.appendChild(el("span", "hint", (state === "bad" ? "Hint: " : "Note: ") + step.hint));
    }
    return item;
  }

  function show(list, step) {
    var fresh = filled(step);
    var old = Array.prototype.filter.call(list.children, function (li) {
      return li.getAttribute("data-step") === String(step.name);
    })[0];
    if (old) { list.replaceChild(fresh, old); } else { list.appendChild(fresh); }
  }

  function start(form) {
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = "Testing…"; }
    while (area.firstChild) { area.removeChild(area.firstChild); }
    var section = el("section", "check running");
    section.setAttribute("aria-busy", "true");
    section.setAttribute("aria-live", "polite");
    var heading = el("h3", null, "Checking… each step shows as the server answers it");
    section.appendChild(heading);
    var list = el("ol", "steps");
    names.forEach(function (name, i) {
      if (name) { list.appendChild(pending(name, labels[i])); }
    });
    section.appendChild(list);
    area.appendChild(section);
    return { section: section, heading: heading, list: list, button: button };
  }

  function finish(view, text, ok) {
    view.section.className = "check";
    view.section.removeAttribute("aria-busy");
    while (view.heading.firstChild) { view.heading.removeChild(view.heading.firstChild); }
    view.heading.appendChild(document.createTextNode("Check just run: "));
    view.heading.appendChild(el("span", "state " + (ok ? "ok" : "bad"), (ok ? "✓ " : "✗ ") + text));
    if (view.button) { view.button.disabled = false; view.button.textContent = "Test connection"; }
  }

  function handle(view, event) {
    if (event.step) {
      show(view.list, event.step);
    } else if (event.check) {
      event.check.steps.forEach(function (step) { show(view.list, step); });
      finish(view, event.check.verdict, event.check.ok);
      return true;
    } else if (event.error) {
      finish(view, event.error.detail, false);
      return true;
    }
    return false;
  }

  function refused(view, response) {
    return response.text().then(function (text) {
      var detail = "the server answered " + response.status;
      try {
        var body = JSON.parse(text);
        detail = body.detail || body.error || detail;
      } catch (ignored) { /* not JSON: keep the status */ }
      finish(view, detail, false);
    });
  }

  function run(form, view) {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/x-ndjson" }
    }).then(function (response) {
      if (response.redirected) {  // signed out meanwhile: the sign-in page, as a post would
        window.location.assign(response.url);
        return undefined;
      }
      var kind = response.headers.get("content-type") || "";
      if (!response.ok || kind.indexOf("application/x-ndjson") !== 0 || !response.body) {
        return refused(view, response);
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      var ended = false;
      function next() {
        return reader.read().then(function (chunk) {
          buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) {
            if (line && !ended) { ended = handle(view, JSON.parse(line)); }
          });
          if (chunk.done || ended) {
            if (!ended) { finish(view, "the answer ended before the check did", false); }
            return undefined;
          }
          return next();
        });
      }
      return next();
    }).catch(function () {
      finish(view, "the check's answer was cut off: press Test connection again", false);
    });
  }

  document.querySelectorAll("form[data-check]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var view = start(form);
      if (!live) { return; }  // the form posts: the page answers with every step
      event.preventDefault();
      run(form, view);
    });
  });
})();
