"""Log lines: JSON outside local development, each line of a request carrying its id."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core.errors import DomainError
from webapp import config, create_app, logs
from webapp.extensions import db

SAID = "a line of the request"


@pytest.fixture
def lines():
    """The process's log lines as ``configure("json")`` writes them, read back as dicts."""
    stream = io.StringIO()
    levels = {name: logging.getLogger(name).level for name in logs.APP_LOGGERS}
    handler = logs.configure("json", "INFO", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def logging_app(app):
    def says_something():  # type: ignore[no-untyped-def]
        logging.getLogger("specialfund.web").info(SAID)
        return "ok"

    app.add_url_rule("/says-something", "says_something", says_something)
    return app


def test_a_line_of_a_request_carries_the_id_the_response_names(logging_app, lines):
    response = logging_app.test_client().get("/says-something")
    rid = response.headers["X-Request-Id"]
    assert len(rid) == 32 and int(rid, 16) >= 0  # uuid4, hex
    [line] = [line for line in lines() if line["message"] == SAID]
    assert line["request_id"] == rid
    assert line["level"] == "INFO" and line["logger"] == "specialfund.web"
    assert line["time"].endswith("+00:00")
    again = logging_app.test_client().get("/says-something").headers["X-Request-Id"]
    assert again != rid


def test_an_incoming_request_id_is_kept_when_sane(logging_app, lines):
    client = logging_app.test_client()
    sane = "lb-7f3a.2026_07_01"
    assert client.get("/says-something",
                      headers={"X-Request-Id": sane}).headers["X-Request-Id"] == sane
    for malformed in ("x" * 65, "<script>alert(1)</script>", "two words", "",
                      "id\u00e9", "a/b"):
        answered = client.get("/says-something",
                              headers={"X-Request-Id": malformed}).headers["X-Request-Id"]
        assert answered != malformed and len(answered) == 32
    ids = [line["request_id"] for line in lines() if line["message"] == SAID]
    assert ids[0] == sane and len(ids) == 7 and len(set(ids)) == 7


def test_every_answer_carries_an_id_error_pages_too(app, lines):
    client = app.test_client()
    for url in ("/no/such/page", "/healthz", "/public/"):
        assert "X-Request-Id" in client.get(url).headers, url


def test_an_error_line_carries_the_id_and_no_input(logging_app, lines):
    def fails():  # type: ignore[no-untyped-def]
        raise RuntimeError("王小明 510104201503081234")  # what a child's data might look like

    logging_app.add_url_rule("/fails", "fails", fails)
    response = logging_app.test_client().get("/fails?name=王小明")
    assert response.status_code == 500
    [line] = [line for line in lines() if line["message"].startswith("unexpected")]
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert "王小明" not in json.dumps(line, ensure_ascii=False)


def test_no_line_outside_a_request_breaks(lines):
    logging.getLogger("ledger").warning("a console job")
    assert lines()[-1]["request_id"] == "-"


def test_sqlalchemy_never_logs_statements(app, lines):
    app.test_client().get("/public/")
    assert not logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)
    assert not any(line["logger"].startswith("sqlalchemy") for line in lines())


def test_json_outside_development_text_for_make_run(monkeypatch, instance_folder):
    monkeypatch.delenv("SPECIALFUND_LOG_FORMAT", raising=False)
    assert config.from_environment(str(instance_folder))["LOG_FORMAT"] == "json"
    monkeypatch.setenv("SPECIALFUND_ENV", "development")
    assert config.from_environment(str(instance_folder))["LOG_FORMAT"] == "text"
    monkeypatch.setenv("SPECIALFUND_LOG_FORMAT", "json")
    assert config.from_environment(str(instance_folder))["LOG_FORMAT"] == "json"
    for name, value in (("SPECIALFUND_LOG_FORMAT", "xml"), ("SPECIALFUND_LOG_LEVEL", "LOUD")):
        monkeypatch.setenv(name, value)
        with pytest.raises(DomainError):
            config.from_environment(str(instance_folder))
        monkeypatch.delenv(name)


def test_an_app_not_under_test_sends_its_lines_through_one_handler(database_url,
                                                                   instance_folder):
    root = logging.getLogger()
    before = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in logs.APP_LOGGERS}
    try:
        for _ in range(2):  # however many apps a process makes
            create_app({"DATABASE_URL": database_url})
        ours = [h for h in root.handlers if h.get_name() == logs.HANDLER]
        assert len(ours) == 1
        assert ours[0].formatter.__class__.__name__ == "JsonFormatter"
    finally:
        root.handlers[:] = before
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        db.dispose_all()
