"""Sessions end on the server: signing out, a password change and a deactivation refuse
a replayed cookie; an idle session signs out; anonymous public pages set no cookie."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from core import clock
from core.db import transaction
from people.models import ApiToken, UserSession
from people.tokens import user_for_token
from people.users import find_user
from tests.conftest import TODAY
from tests.reports.test_public import disclose
from tests.webapp.conftest import text
from tests.worlds import PASSWORD, make_token
from webapp import create_app
from webapp.config import ConfigurationError, from_environment
from webapp.extensions import db

NEW_PASSWORD = "another-pass-42"


def cookie_of(app, client) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def replay(app, value: str):
    """A fresh client that presents a copied session cookie, as a thief would."""
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return client


def signed_in(client) -> bool:
    response = client.get("/dashboard")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def at(minutes: float):
    """The pinned clock, moved this many minutes past the test's start."""
    return clock.frozen_at(TODAY + dt.timedelta(minutes=minutes))


def _token(world, username: str) -> str:
    with transaction(world.factory) as session:
        return make_token(session, username, name="脚本",
                            expires_on=None)[0]


def _acts_as(factory, token: str) -> str | None:
    with factory() as session:
        user = user_for_token(session, token)
        return user.username if user else None


# --- Signing out ---------------------------------------------------------------------------


def test_a_cookie_copied_before_signing_out_is_refused_after(app, world, login, factory):
    client, elsewhere = login("ca"), login("ca")
    copied = cookie_of(app, client)
    assert signed_in(replay(app, copied))
    assert client.post("/logout").status_code == 302
    assert not signed_in(replay(app, copied))
    assert not signed_in(client)
    assert signed_in(elsewhere)  # signing out ends this session, not the user's others
    with factory() as session:
        rows = session.execute(select(UserSession).order_by(UserSession.id)).scalars().all()
        assert [(r.end_reason, r.ended_at is not None) for r in rows] == [
            ("logout", True), (None, False)]
        assert rows[0].user.username == "ca"
        # Only a hash of the cookie's key is kept.
        assert all(len(r.key_hash) == 64 and r.key_hash not in copied for r in rows)


def test_a_replayed_cookie_of_an_ended_session_is_told_to_sign_in(app, world, login):
    client = login("ca")
    copied = cookie_of(app, client)
    client.post("/logout")
    thief = replay(app, copied)
    response = thief.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "会话已结束" in text(thief.get("/login"))


def test_signing_in_again_in_the_same_browser_ends_the_earlier_session(app, world, login):
    client = login("ca")
    copied = cookie_of(app, client)
    client.post("/login", data={"username": "co", "password": PASSWORD})
    assert not signed_in(replay(app, copied))
    assert "co" in text(client.get("/dashboard"))


# --- Password change -----------------------------------------------------------------------


def test_a_password_change_ends_every_other_session_and_keeps_this_one(
        app, world, login, factory):
    here, other = login("co"), login("co")
    copied_here, copied_other = cookie_of(app, here), cookie_of(app, other)
    page = here.get("/password").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="revoke_tokens"[^>]*>', page)
    assert box and "checked" in box.group(0)  # revoking the tokens is the default
    response = here.post("/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD, "revoke_tokens": "y"})
    assert response.status_code == 302
    assert signed_in(here)
    assert not signed_in(other)
    assert not signed_in(replay(app, copied_other))
    # This browser goes on under a new key: a copy taken before the change opens nothing.
    assert not signed_in(replay(app, copied_here))
    assert signed_in(here)
    with factory() as session:
        record = session.execute(select(AuditRecord).where(
            AuditRecord.action == "user.password")).scalar_one()
        assert json.loads(record.after) == {"sessions_ended": 2, "tokens_revoked": []}


def test_a_password_change_revokes_the_tokens_when_the_box_is_ticked(
        app, world, login, factory):
    token = _token(world, "co")
    client = login("co")
    response = client.post("/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD, "revoke_tokens": "y"})
    assert response.status_code == 302
    assert "API 令牌已吊销：1 个" in text(client.get("/dashboard"))
    assert _acts_as(factory, token) is None
    with factory() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        assert row.revoked_by == "co" and row.revoked_at == TODAY
        revoke = session.execute(select(AuditRecord).where(
            AuditRecord.action == "api-token.revoke")).scalar_one()
        assert revoke.actor == "co" and revoke.reason == "password changed"
        password = session.execute(select(AuditRecord).where(
            AuditRecord.action == "user.password")).scalar_one()
        assert json.loads(password.after)["tokens_revoked"] == [row.hint]


def test_a_password_change_keeps_the_tokens_when_the_box_is_unticked(
        app, world, login, factory):
    token = _token(world, "co")
    client = login("co")
    response = client.post("/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _acts_as(factory, token) == "co"
    with factory() as session:
        assert session.execute(select(ApiToken.revoked_at)).scalar_one() is None


def test_a_refused_password_change_ends_nothing(app, world, login, factory):
    token = _token(world, "co")
    here, other = login("co"), login("co")
    wrong = here.post("/password", data={"current": "not-the-password-1", "new": NEW_PASSWORD,
                                         "confirm": NEW_PASSWORD, "revoke_tokens": "y"})
    assert wrong.status_code == 422
    assert signed_in(other) and signed_in(here)
    assert _acts_as(factory, token) == "co"


# --- Deactivation --------------------------------------------------------------------------


def test_deactivation_ends_every_session_and_revokes_the_tokens_for_good(
        app, world, login, factory):
    token = _token(world, "aud")
    first, second = login("aud"), login("aud")
    copied = cookie_of(app, first)
    with factory() as session:
        aud_id = find_user(session, "aud").id
    admin = login("admin")
    assert admin.post(f"/admin/users/{aud_id}/active/0").status_code == 302
    assert "API 令牌已吊销：1 个" in text(admin.get("/admin/users"))
    assert not signed_in(first) and not signed_in(second)
    assert _acts_as(factory, token) is None

    assert admin.post(f"/admin/users/{aud_id}/active/1").status_code == 302
    assert not signed_in(replay(app, copied))  # reactivation revives no session
    assert _acts_as(factory, token) is None  # nor any token
    assert signed_in(login("aud"))  # the person signs in anew
    with factory() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        assert row.revoked_by == "admin" and row.revoked_at == TODAY
        ends = session.execute(select(UserSession.end_reason).join(UserSession.user).where(
            UserSession.user_id == aud_id).order_by(UserSession.id)).scalars().all()
        assert ends == ["deactivated", "deactivated", None]
        deactivate = session.execute(select(AuditRecord).where(
            AuditRecord.action == "user.deactivate")).scalar_one()
        assert deactivate.actor == "admin"
        assert json.loads(deactivate.after) == {"sessions_ended": 2, "tokens_revoked": [row.hint]}
        revoke = session.execute(select(AuditRecord).where(
            AuditRecord.action == "api-token.revoke")).scalar_one()
        assert revoke.reason == "user deactivated"


# --- Idle timeout and lifetime -------------------------------------------------------------


def test_an_idle_session_signs_out_with_a_message(app, world, login):
    client = login("ca")
    with at(29):
        assert signed_in(client)
    with at(58):
        assert signed_in(client)  # each request starts the idle clock again
    with at(88.5):
        response = client.get("/dashboard")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
        page = text(client.get(response.headers["Location"]))
        assert "30 分钟无操作，已退出登录" in page
        assert not signed_in(client)


def test_the_idle_time_is_configurable(app, world, login):
    app.config["IDLE_MINUTES"] = 5
    client = login("ca")
    with at(4):
        assert signed_in(client)
    with at(9.5):
        assert not signed_in(client)


def test_an_old_cookie_cannot_extend_the_idle_clock(app, world, login):
    client = login("ca")
    copied = cookie_of(app, client)  # its idle clock started at sign-in
    with at(20):
        assert signed_in(client)
    with at(31):
        assert not signed_in(replay(app, copied))
        assert signed_in(client)  # the browser's newer cookie is not idle
    with at(45):
        assert not signed_in(replay(app, copied))


def test_a_session_ends_at_its_lifetime_however_busy(app, world, login):
    client = login("ca")
    lifetime = app.permanent_session_lifetime.total_seconds() / 60
    minutes = 0.0
    while minutes + 25 < lifetime:
        minutes += 25
        with at(minutes):
            assert signed_in(client)
    with at(lifetime + 1):
        assert not signed_in(client)


def test_the_idle_minutes_come_from_the_environment(monkeypatch, instance_folder):
    assert from_environment(str(instance_folder))["IDLE_MINUTES"] == 30
    monkeypatch.setenv("SPECIALFUND_IDLE_MINUTES", "12")
    assert from_environment(str(instance_folder))["IDLE_MINUTES"] == 12
    for bad in ("0", "-5", "ten", "1e3", "²"):
        monkeypatch.setenv("SPECIALFUND_IDLE_MINUTES", bad)
        with pytest.raises(ConfigurationError, match="SPECIALFUND_IDLE_MINUTES"):
            from_environment(str(instance_folder))


# --- No cookie on the public site ----------------------------------------------------------

SAMPLE = {"code": "YJQ", "name": "donations", "year": "2025", "project_id": "1"}


def anonymous_urls(app) -> list[str]:
    """Every address that answers GET, with sample arguments, and a few that do not exist."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            urls.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE.get(m.group(1), "1"),
                               rule.rule))
    return [*sorted(urls), "/public/funds/NOPE", "/public/data/nope.csv", "/no/such/page",
            "/public/?lang=en", "/public/funds/YJQ?lang=en&year=2025", "/public/data/?lang=en"]


@pytest.fixture
def csrf_app(database_url, instance_folder):
    """The app with CSRF protection on, as in production: forms put a token in the session."""
    app = create_app({"DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False})
    yield app
    db.dispose_all()


def test_no_anonymous_page_sets_a_cookie_but_the_sign_in_form(csrf_app, disclosed_site):
    app = csrf_app
    answered = set()
    for url in anonymous_urls(app):
        response = app.test_client().get(url)
        answered.add(response.status_code)
        cookies = response.headers.getlist("Set-Cookie")
        if url == "/login":  # the sign-in form's CSRF token lives in the session
            assert any(c.startswith("session=") for c in cookies), cookies
        else:
            assert cookies == [], (url, response.status_code, cookies)
    assert {200, 302, 401, 404} <= answered
    assert "/public/funds/YJQ" in anonymous_urls(app)


def test_the_public_site_switches_language_by_its_address(app, world, disclosed_site):
    site = app.test_client()
    chinese = site.get("/public/funds/YJQ")
    switch = re.search(r'<a[^>]*id="switch-language"[^>]*href="([^"]+)"|'
                       r'<a[^>]*href="([^"]+)"[^>]*id="switch-language"',
                       chinese.get_data(as_text=True))
    assert switch is not None
    target = (switch.group(1) or switch.group(2)).replace("&amp;", "&")
    assert target == "/public/funds/YJQ?lang=en"
    english = site.get(target)
    body = english.get_data(as_text=True)
    assert '<html lang="en">' in body and "All funds" in text(english)
    assert "Set-Cookie" not in english.headers
    # Links within the public site keep the language; the way back drops it.
    assert 'href="/public/?lang=en"' in body and 'href="/public/data/?lang=en"' in body
    assert re.search(r'href="/public/funds/YJQ\?[^"]*year=2025[^"]*"', body)
    links = re.findall(r'<a href="(/public/[^"]+)"', body)  # the switch's own link aside
    assert len(links) > 20
    assert [link for link in links if "lang=en" not in link and "/data/" not in link
            and not link.endswith(".pdf")] == []
    # Open data reads the same in every language: one address.
    assert "/public/data/donations.csv?fund=YJQ" in links
    assert 'id="switch-language" href="/public/funds/YJQ"' in body \
        or 'href="/public/funds/YJQ" id="switch-language"' in body
    assert '<html lang="zh-CN">' in site.get("/public/funds/YJQ").get_data(as_text=True)


def test_a_signed_in_language_choice_does_not_change_the_public_addresses(app, world, login,
                                                                         disclosed_site):
    client = login("ca")
    client.post("/language/en", data={"next": "/dashboard"})
    assert "Waiting for me" in text(client.get("/dashboard"))
    # The public site answers by its address alone, so a shared cache never mixes languages.
    assert '<html lang="zh-CN">' in client.get("/public/").get_data(as_text=True)
    assert 'href="/public/?lang=en"' in client.get("/dashboard").get_data(as_text=True)


def test_the_sign_in_page_keeps_the_language_of_its_address(app, world):
    client = app.test_client()
    page = client.get("/login?lang=en")
    assert '<html lang="en">' in page.get_data(as_text=True)
    signed = client.post("/login?lang=en", data={"username": "ca", "password": PASSWORD})
    assert signed.status_code == 302
    assert "Waiting for me" in text(client.get("/dashboard"))


@pytest.fixture
def disclosed_site(world, factory, post, approved):
    return disclose(world, factory, post, approved)
