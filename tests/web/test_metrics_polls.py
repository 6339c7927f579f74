"""``/metrics`` after real polls of the loopback Dovecot (tests/support/mailstack.py), on
SQLite and PostgreSQL: polls by channel and outcome, the poll and handling histograms,
read from the database, so a second app over it scrapes the same figures; counters only
grow; the text is Prometheus's (prometheus_client's parser)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.web.conftest import Web

from postroom.bootstrap import App
from postroom.settings import Settings
from postroom.web.app import create_app
from support.mailstack import Mailstack

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
ACTIVITY = ("postroom_polls", "postroom_poll_duration_seconds", "postroom_message_handling")


def _scrape(client: TestClient, web: Web) -> tuple[Samples, dict[str, str]]:
    answer = client.get("/metrics", headers=web.admin())
    assert answer.status_code == 200
    families = list(text_string_to_metric_families(answer.text))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    return samples, {f.name: f.type for f in families}


def _channel(web: Web, mailstack: Mailstack, name: str, address: str, password: str) -> None:
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    body = {"name": name, "url": url, "password": password, "ca_file": str(mailstack.ca_file)}
    made = web.client.post("/api/v1/channels", json=body, headers=web.admin())
    assert made.status_code == 201, made.text


def _poll(web: Web, name: str) -> dict[str, object]:
    polled = web.client.post(f"/api/v1/channels/{name}/poll", headers=web.admin())
    assert polled.status_code == 200, polled.text
    report: dict[str, object] = polled.json()
    return report


def _buckets(samples: Samples, name: str) -> list[tuple[float, float]]:
    found = [
        (float(dict(labels)["le"]), value)
        for (sample, labels), value in samples.items()
        if sample == f"{name}_bucket"
    ]
    return sorted(found)


def test_polls_and_durations_after_real_polls(web: Web, mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("metrics")
    web.app.routes.add(address, "C", "K", "Q")
    _channel(web, mailstack, "dovecot", address, password)
    other, _ = mailstack.new_user("metricsbad")
    _channel(web, mailstack, "refused", other, "Wrong-Password-789")  # added, stays off
    mailstack.fill(address, 3, size_kb=1)
    assert _poll(web, "dovecot")["fetched"] == 3
    assert _poll(web, "dovecot")["fetched"] == 0
    assert _poll(web, "refused")["errors"]

    samples, types = _scrape(web.client, web)
    polls = {k: v for k, v in samples.items() if k[0] == "postroom_polls_total"}
    assert polls == {
        ("postroom_polls_total", (("channel", "dovecot"), ("outcome", "ok"))): 1,
        ("postroom_polls_total", (("channel", "dovecot"), ("outcome", "idle"))): 1,
        ("postroom_polls_total", (("channel", "refused"), ("outcome", "authentication"))): 1,
    }
    assert types["postroom_polls"] == "counter"
    for name, count in (
        ("postroom_poll_duration_seconds", 3),
        ("postroom_message_handling_duration_seconds", 3),
    ):
        assert types[name] == "histogram"
        buckets = _buckets(samples, name)
        assert buckets[-1] == (float("inf"), count) and len(buckets) == 12
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
        assert samples[(f"{name}_count", ())] == count
        assert samples[(f"{name}_sum", ())] > 0
    # a poll of the loopback server takes well under 10 s, a message's handling under 1 s
    assert dict(_buckets(samples, "postroom_poll_duration_seconds"))[10.0] == 3
    assert dict(_buckets(samples, "postroom_message_handling_duration_seconds"))[1.0] == 3

    # Another app over the same database (a second web process, a forked worker's
    # database) scrapes the same figures: nothing was counted in memory.
    second = App(Settings(home=web.app.settings.home, database_url=web.app.settings.database_url))
    second.__dict__["accounts"] = web.app.accounts
    with TestClient(create_app(second)) as client:
        again, _ = _scrape(client, web)
    assert _activity(again) == _activity(samples)
    second.engine.dispose()

    # Counters only grow: one more message, one more poll of each.
    mailstack.fill(address, 1, size_kb=1)
    assert _poll(web, "dovecot")["fetched"] == 1
    _poll(web, "refused")
    later, _ = _scrape(web.client, web)
    grown = {k: later[k] - v for k, v in _activity(samples).items()}
    assert min(grown.values()) >= 0
    assert grown[("postroom_polls_total", (("channel", "dovecot"), ("outcome", "ok")))] == 1
    key = ("postroom_polls_total", (("channel", "refused"), ("outcome", "authentication")))
    assert grown[key] == 1
    assert grown[("postroom_poll_duration_seconds_count", ())] == 2
    assert grown[("postroom_message_handling_duration_seconds_count", ())] == 1


def _activity(samples: Samples) -> Samples:
    return {k: v for k, v in samples.items() if k[0].startswith(ACTIVITY)}
