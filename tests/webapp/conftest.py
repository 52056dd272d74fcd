"""Web fixtures: the app on the test's database, and signed-in clients."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qsl

import pytest
from werkzeug.datastructures import MultiDict

from tests.reports.test_public import disclose
from tests.worlds import PASSWORD
from webapp import create_app, queue
from webapp.extensions import db


@pytest.fixture
def app(database_url, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                      "ATTACHMENTS_DIR": str(instance_folder / "attachments"),
                      "JOBS_IMMEDIATE": True})  # a job runs in the request that asks for it
    yield app
    db.dispose_all()


def _redis_url() -> str | None:
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "redis"])
def worker_app(request, database_url, instance_folder):
    """The app with a real queue -- SQLite in the instance folder, or Redis under a name
    of this test's own -- and a consumer thread making its jobs."""
    overrides = {"DATABASE_URL": database_url, "TESTING": True,
                 "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                 "JOBS_IMMEDIATE": False}
    if request.param == "redis":
        url = _redis_url()
        if url is None:
            pytest.skip("no Redis at 127.0.0.1:6379")
        overrides |= {"REDIS_URL": url, "JOBS_QUEUE_NAME": f"specialfund-test-{uuid.uuid4()}"}
    app = create_app(overrides)
    huey = queue.queue_of(app).huey
    assert type(huey).__name__ == ("RedisHuey" if request.param == "redis" else "SqliteHuey")
    consumer = queue.consumer(app, workers=1, embedded=True)
    consumer.start()
    yield app
    consumer.stop(graceful=True)
    if request.param == "redis":
        huey.storage.flush_all()
    db.dispose_all()


@pytest.fixture
def login(app):
    """login("ca") -> a test client signed in as that user of the world."""

    def sign_in(username: str, password: str = PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return sign_in


def prepared(client, query: str):
    """What the downloads form gives for this query (``report=…&format=…``): a CSV at
    once; any other file through its job (run at once: ``JOBS_IMMEDIATE``), fetched
    from the job's page when done. The response of the step that stopped otherwise."""
    form = MultiDict(parse_qsl(query))
    response = client.post("/downloads/prepare", data=form)
    if response.status_code != 303:
        return response
    location = response.headers["Location"]
    if "/jobs/" not in location:
        return client.get(location)
    page = client.get(location)
    if page.status_code != 200 or 'data-state="done"' not in page.get_data(as_text=True):
        return page
    response = client.get(location + "/file")
    response.get_data()  # read whole, then the file it streamed from is closed
    response.close()
    return response


def fetch(client, url: str):
    """GET ``url``, its body read and the response closed (a file is streamed)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def assert_no_such_job(client, url: str) -> None:
    """The job at ``url`` does not exist for this client: its page, file and retry."""
    assert client.get(url).status_code == 404
    assert fetch(client, url + "/file").status_code == 404
    assert client.post(url + "/retry").status_code == 404


def text(response) -> str:
    """A page's visible text, tags stripped, for assertions on what a user reads."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.fixture
def site(app):
    """An anonymous visitor's client."""
    return app.test_client()


@pytest.fixture
def disclosed(world, factory, post, approved):
    """The small world with a year of money, projects and donations to disclose."""
    return disclose(world, factory, post, approved)
