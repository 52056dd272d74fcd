"""Prometheus metrics at ``/metrics``: off unless ``SPECIALFUND_METRICS=1``; when off, the
address does not exist (404).

- ``specialfund_http_requests_total{endpoint, method, status}``: requests answered;
- ``specialfund_http_request_duration_seconds{endpoint}``: how long they took;
- ``specialfund_postings_total{type}``: journal entries committed, by entry type
  (``donation``, ``disbursement`` ...), counted when the transaction that wrote them
  commits (``ledger.journal.ENTRY_WRITTEN``), from pages, the API and the console alike;
- whatever registered a gauge read at each scrape (``add_gauge``): the job queue's depth.

Labels are the Flask endpoint's name (``public.fund``), never the address asked for --
an address holds a fund's code or a project's number and grows without bound -- and
the method, unknown methods counted as ``other``. No metric names a fund, a project, a
user or a child.

With several gunicorn workers each counts in its own memory, and a scrape sees one
worker's. Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder writable by the workers
(emptied before every start) and every worker writes its counts there and every scrape
adds them all up (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, current_app, g, request, request_finished, request_started
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.orm import Session

from ledger import journal

log = logging.getLogger("specialfund.web")

REQUESTS = Counter("specialfund_http_requests", "Requests answered, by endpoint, method "
                   "and status.", ["endpoint", "method", "status"])
LATENCY = Histogram("specialfund_http_request_duration_seconds", "Seconds taken to answer "
                    "a request, by endpoint.", ["endpoint"])
POSTINGS = Counter("specialfund_postings", "Journal entries committed, by entry type.",
                   ["type"])

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
GAUGES = "specialfund.metrics.gauges"
WRITTEN = "specialfund.metrics.written"  # in a session's info: entry types not yet committed
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"


def add_gauge(app: Flask, name: str, documentation: str, read: Callable[[], float]) -> None:
    """Report ``read()`` as the gauge ``name`` at every scrape of ``app``'s metrics (the job
    queue: how many jobs wait). A ``read`` that fails leaves its gauge out of that scrape."""
    app.extensions.setdefault(GAUGES, {})[name] = (documentation, read)


def _started(_sender: Flask, **_extra: Any) -> None:
    g.metrics_started = time.perf_counter()


def _finished(_sender: Flask, response: Response, **_extra: Any) -> None:
    endpoint = request.endpoint or "none"  # "none": no route answered (404, 405)
    method = request.method if request.method in METHODS else "other"
    REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)


def _entry_written(session: Session, posted: journal.PostedEntry) -> None:
    session.info.setdefault(WRITTEN, []).append(posted.type)


def _committed(session: Session) -> None:
    for entry_type in session.info.pop(WRITTEN, ()):
        POSTINGS.labels(entry_type).inc()


def _rolled_back(session: Session) -> None:
    session.info.pop(WRITTEN, None)


class _Scrape:
    """What one scrape reports: the counters (this process's, or every worker's in
    multiprocess mode) and the app's gauges read now."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        if os.environ.get(MULTIPROCESS):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        for name, (documentation, read) in self.app.extensions.get(GAUGES, {}).items():
            try:
                value = float(read())
            except Exception as error:  # a scrape goes on without it
                log.warning("metric %s not read: %s", name, type(error).__name__)
                continue
            yield GaugeMetricFamily(name, documentation, value=value)


def metrics_page() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(generate_latest(_Scrape(app)), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """When metrics are on: count requests and committed postings, answer ``/metrics``."""
    if not app.config.get("METRICS"):
        return
    request_started.connect(_started, app)
    request_finished.connect(_finished, app)
    if _entry_written not in journal.ENTRY_WRITTEN:
        journal.ENTRY_WRITTEN.append(_entry_written)
    factory = app.extensions["specialfund.db"][1]
    event.listen(factory, "after_commit", _committed)
    event.listen(factory, "after_rollback", _rolled_back)
    app.add_url_rule("/metrics", "metrics", metrics_page)
