"""Web fixtures: the app on the test's database, and signed-in clients."""

from __future__ import annotations

import re

import pytest

from tests.worlds import PASSWORD
from webapp import create_app
from webapp.extensions import db


@pytest.fixture
def app(database_url, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                      "ATTACHMENTS_DIR": str(instance_folder / "attachments")})
    yield app
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


def text(response) -> str:
    """A page's visible text, tags stripped, for assertions on what a user reads."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
