"""Signing in and out, lockout, password change, CSRF, headers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from people.models import User
from tests.webapp.conftest import text
from tests.worlds import PASSWORD
from webapp import create_app
from webapp.extensions import db


def test_sign_in_and_out(app, world, login):
    client = login("ca")
    assert client.get("/dashboard").status_code == 200
    copied = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    replayed = app.test_client()
    replayed.set_cookie("session", copied)  # a copy of the cookie from before signing out
    assert replayed.get("/dashboard").status_code == 302


def test_wrong_password_is_refused_without_saying_why(app, world):
    client = app.test_client()
    response = client.post("/login", data={"username": "ca", "password": "nope-nope-1"})
    assert response.status_code == 200
    assert "用户名或密码错误" in text(response)
    unknown = client.post("/login", data={"username": "nobody", "password": "nope-nope-1"})
    assert text(unknown).count("用户名或密码错误") == 1


def test_repeated_failures_never_lock_the_account_for_everyone(app, world, factory):
    """A stranger's guesses cannot lock a user out: failures are limited per account and
    address by the rate limits (tests/webapp/test_rate_limits.py), not on the account."""
    client = app.test_client()
    for _ in range(12):
        client.post("/login", data={"username": "fin1", "password": "wrong-guess-1"})
    with factory() as session:
        user = session.execute(select(User).where(User.username == "fin1")).scalar_one()
        assert (user.failed_logins, user.locked_until) == (12, None)
    response = app.test_client().post("/login", data={"username": "fin1", "password": PASSWORD})
    assert response.status_code == 302


def test_changing_the_password_ends_other_sessions(app, world, login):
    first, second = login("co"), login("co")
    copied = second.get_cookie("session").value
    response = first.post("/password", data={"current": PASSWORD, "new": "another-pass-42",
                                              "confirm": "another-pass-42"})
    assert response.status_code == 302
    assert first.get("/dashboard").status_code == 200
    assert second.get("/dashboard").status_code == 302  # signed out
    replayed = app.test_client()
    replayed.set_cookie("session", copied)
    assert replayed.get("/dashboard").status_code == 302
    weak = first.post("/password", data={"current": "another-pass-42", "new": "aaaaaaaaaaaa",
                                         "confirm": "aaaaaaaaaaaa"})
    assert weak.status_code == 422


def test_no_open_redirect_after_sign_in(app, world):
    client = app.test_client()
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": "ca", "password": PASSWORD})
    assert response.headers["Location"] == "/dashboard"
    response = app.test_client().post("/login?next=/projects/",
                                      data={"username": "ca", "password": PASSWORD})
    assert response.headers["Location"] == "/projects/"


def test_forms_need_their_csrf_token(database_url, world, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "SESSION_COOKIE_SECURE": False})
    try:
        client = app.test_client()
        forged = client.post("/login", data={"username": "ca", "password": PASSWORD})
        assert forged.status_code == 400
        assert "表单已过期" in text(forged)
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        ok = client.post("/login", data={"username": "ca", "password": PASSWORD,
                                         "csrf_token": token})
        assert ok.status_code == 302
    finally:
        db.dispose_all()


def test_session_cookie_is_locked_down(database_url, world, instance_folder):
    app = create_app({"DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False})
    try:
        response = app.test_client().post("/login", data={"username": "ca",
                                                           "password": PASSWORD})
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    finally:
        db.dispose_all()


def test_pages_carry_security_headers_and_no_outside_assets(app, world, login):
    response = login("ca").get("/dashboard")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "http://" not in response.get_data(as_text=True).replace("http://localhost", "")
    assert "https://" not in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_language_switch(app, world, login, lang):
    client = login("ca")
    client.post(f"/language/{lang}", data={"next": "/dashboard"})
    page = text(client.get("/dashboard"))
    assert ("Waiting for me" in page) == (lang == "en")
    assert ("待我处理" in page) == (lang == "zh_CN")


def test_deactivated_users_are_signed_out(app, world, login, factory):
    client = login("aud")
    with factory.begin() as session:
        session.execute(select(User).where(User.username == "aud")).scalar_one().active = False
    assert client.get("/dashboard").status_code == 302
