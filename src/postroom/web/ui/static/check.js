// Test connection, live: while the check runs (the form's POST, which the page answers
// with every step), list the steps it is running so the wait reads as progress.
// The page works without this script; it only adds to it. No HTML is built from text:
// labels come from the page's own data attributes and are set with textContent.
"use strict";
(function () {
  var area = document.getElementById("check");
  if (!area) { return; }
  var names = (area.getAttribute("data-steps") || "").split(" ");
  var labels = (area.getAttribute("data-labels") || "").split("|");
  document.querySelectorAll("form[data-check]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = "Testing…"; }
      while (area.firstChild) { area.removeChild(area.firstChild); }
      var section = document.createElement("section");
      section.className = "check running";
      section.setAttribute("aria-busy", "true");
      var heading = document.createElement("h3");
      heading.textContent = "Checking… each step waits for the server's answer";
      section.appendChild(heading);
      var list = document.createElement("ol");
      list.className = "steps";
      names.forEach(function (name, i) {
        if (!name) { return; }
        var item = document.createElement("li");
        item.className = "step pending";
        item.setAttribute("data-step", name);
        var mark = document.createElement("span");
        mark.className = "mark";
        mark.textContent = "…";
        var label = document.createElement("b");
        label.className = "step-name";
        label.textContent = labels[i] || name;
        var figure = document.createElement("span");
        figure.className = "figure";
        figure.textContent = "running";
        item.appendChild(mark);
        item.appendChild(label);
        item.appendChild(figure);
        list.appendChild(item);
      });
      section.appendChild(list);
      area.appendChild(section);
    });
  });
})();
