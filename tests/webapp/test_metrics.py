"""Prometheus metrics: off unless asked for; counts by endpoint, never by address."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger.events import EVENTS
from tests.worlds import USERS
from webapp import create_app, metrics
from webapp.extensions import db


@pytest.fixture
def metered(database_url, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "METRICS": True,
                      "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False})
    yield app
    db.dispose_all()


def scrape(app) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def requests(samples, endpoint: str, method: str = "GET", status: str = "200") -> float:
    key = ("specialfund_http_requests_total",
           (("endpoint", endpoint), ("method", method), ("status", status)))
    return samples.get(key, 0.0)


def test_off_unless_configured(app):
    assert not app.config["METRICS"]
    assert app.test_client().get("/metrics").status_code == 404


def test_requests_are_counted_by_endpoint_method_and_status(metered):
    before = scrape(metered)
    client = metered.test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no/such/address-of-王小明")
    client.open("/healthz", method="BREW")
    after = scrape(metered)
    assert requests(after, "healthz") - requests(before, "healthz") == 3
    assert requests(after, "none", status="404") - requests(before, "none", status="404") == 1
    assert requests(after, "none", "other", "405") - \
        requests(before, "none", "other", "405") == 1
    count = ("specialfund_http_request_duration_seconds_count", (("endpoint", "healthz"),))
    assert after[count] - before.get(count, 0.0) >= 3


def test_committed_postings_are_counted_by_type(metered, make_fund, actor):
    make_fund("YJQ")
    key = ("specialfund_postings_total", (("type", "interest"),))
    before = scrape(metered).get(key, 0.0)
    with metered.app_context():
        with db.transaction() as session:
            EVENTS["interest"](session, actor, "YJQ", date=dt.date(2026, 6, 30), amount="1.23")
        with pytest.raises(RuntimeError), db.transaction() as session:
            EVENTS["interest"](session, actor, "YJQ", date=dt.date(2026, 6, 30), amount="2")
            raise RuntimeError("rolled back: not kept, not counted")
    assert scrape(metered)[key] - before == 1


def test_a_registered_gauge_is_read_at_each_scrape(metered):
    """The job queue reports its depth this way."""
    depth = [3]
    metrics.add_gauge(metered, "specialfund_queue_depth", "Jobs waiting.", lambda: depth[0])
    metrics.add_gauge(metered, "specialfund_broken", "Fails.", lambda: 1 / 0)
    assert scrape(metered)[("specialfund_queue_depth", ())] == 3
    depth[0] = 0
    samples = scrape(metered)
    assert samples[("specialfund_queue_depth", ())] == 0
    assert not any(name == "specialfund_broken" for name, _ in samples)


def test_no_label_names_a_person_a_fund_or_an_address(metered, world):
    client = metered.test_client()
    client.post("/login", data={"username": "ca", "password": "wrong password 王小明"})
    for user in USERS:
        client.get("/logout")
        client.get(f"/no/such/{user}")
    client.get("/public/funds/YJQ")
    client.get("/public/funds/AYX?year=2025")
    endpoints = {rule.endpoint for rule in metered.url_map.iter_rules()} | {"none"}
    for (name, labels) in scrape(metered):
        if not name.startswith("specialfund_"):
            continue
        for label, value in labels:
            allowed = {"endpoint": endpoints, "method": metrics.METHODS | {"other"},
                       "type": set(EVENTS) | {"interest", "seed", "allocation"}}.get(label)
            if label == "status":
                assert value.isdigit()
            elif label == "le":
                float(value)
            else:
                assert allowed is not None, label
                assert value in allowed, (label, value)


@pytest.mark.slow
def test_several_workers_add_up_in_multiprocess_mode(database_url, tmp_path):
    """Each run is a worker process of its own; the last one's scrape sees them all."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder),
           "DATABASE_URL": database_url, "SPECIALFUND_METRICS": "1"}
    worker = ("from webapp import create_app\n"
              "app = create_app({'TESTING': True})\n"
              "client = app.test_client()\n"
              "client.get('/healthz')\n"
              "print(client.get('/metrics').get_data(as_text=True))\n")
    outputs = [subprocess.run([sys.executable, "-c", worker], env=env, capture_output=True,
                              text=True, check=True, timeout=120).stdout for _ in range(2)]
    line = 'specialfund_http_requests_total{endpoint="healthz",method="GET",status="200"}'
    assert f"{line} 1.0" in outputs[0]
    assert f"{line} 2.0" in outputs[1]


def test_the_queue_reports_its_depth(metered):
    assert scrape(metered)[("specialfund_queue_depth", ())] == 0
