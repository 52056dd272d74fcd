"""API tokens: made only by their own user (signed in, or with their password on the
console), shown once, kept only as a SHA-256, acting as their user until revoked or
expired; administrators of the user's jurisdiction list and revoke them."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import func, select, text

from core import clock
from core.actors import Actor
from core.db import transaction
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import locale_as
from people.models import ApiToken
from people.tokens import create_token, generate, hash_token, revoke_token, user_for_token
from people.users import find_user, set_active
from tests.webapp.conftest import text as page_text
from tests.worlds import CONSOLE, PASSWORD

TOKEN = re.compile(r"sf_[A-Za-z0-9_-]{43}")


def _user_id(factory, username: str) -> int:
    with factory() as session:
        return find_user(session, username).id


def _make(world, username: str, *, name: str = "脚本",
          expires_on: dt.date | None = None) -> tuple[str, int]:
    """A token ``username`` made for themself: (token, id)."""
    with transaction(world.factory) as session:
        token, row = create_token(session, world[username], find_user(session, username),
                                  name=name, expires_on=expires_on)
        return token, row.id


def _acts_as(factory, token: str) -> str | None:
    with factory() as session:
        user = user_for_token(session, token)
        return user.username if user else None


def _create_on_page(client, url: str, **data: str) -> str:
    response = client.post(url, data={"name": "数据同步", **data})
    assert response.status_code == 200, page_text(response)[:500]
    found = TOKEN.findall(response.get_data(as_text=True))
    assert found and len(set(found)) == 1  # shown once, the same token in the curl hint
    return found[0]


def test_a_token_is_shown_once_and_only_its_hash_is_kept(world, login, app, factory):
    ca = login("ca")
    response = ca.post("/account/tokens", data={"name": "数据同步", "expires_on": "2026-12-31"})
    assert response.status_code == 200
    body = page_text(response)
    token = TOKEN.search(body).group(0)
    assert "不会再次显示" in body
    assert f'Authorization: Bearer {token}' in body and "/api/v1/funds" in body
    assert response.headers["Cache-Control"] == "no-store"
    # Never through the session cookie: it is signed, not encrypted.
    cookie = ca.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None and token not in str(
        app.session_interface.get_signing_serializer(app).loads(cookie.value))

    listing = page_text(ca.get("/account/tokens"))
    assert token not in listing
    assert f"{token[:7]}…" in listing and "数据同步" in listing and "2026" in listing

    with factory() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.hint == token[:7] and row.created_by == "ca"
        assert row.expires_at == dt.datetime(2026, 12, 31, 23, 59, 59, 999999, clock.CST)
        for table in ("api_tokens", "audit_log"):
            for values in session.execute(text(f"SELECT * FROM {table}")):
                assert not any(token in str(v) for v in values), table
        actions = session.execute(text("SELECT action, after FROM audit_log WHERE action "
                                       "LIKE 'api-token.%'")).all()
        assert [a for a, _ in actions] == ["api-token.create"] and token[:7] in actions[0][1]
    assert _acts_as(factory, token) == "ca"


def test_a_token_stops_working_when_revoked_expired_or_its_user_deactivated(world, factory):
    token, token_id = _make(world, "fin1")
    with factory() as session:
        user = user_for_token(session, token)
        assert user is not None and user.actor() == world["fin1"]  # its user's role and fund
        assert not session.new and not session.dirty  # looking a token up writes nothing
    assert _acts_as(factory, "sf_" + "x" * 43) is None
    assert _acts_as(factory, token[:-1]) is None
    assert _acts_as(factory, "") is None

    with transaction(factory) as session:
        revoke_token(session, world["fin1"], token_id)
    assert _acts_as(factory, token) is None
    with transaction(factory) as session, pytest.raises(Conflict):
        revoke_token(session, world["fin1"], token_id)

    lasting, _ = _make(world, "fin1", expires_on=dt.date(2026, 7, 2))
    assert _acts_as(factory, lasting) == "fin1"
    with clock.frozen_at(dt.datetime(2026, 7, 2, 23, 59, tzinfo=clock.CST)):
        assert _acts_as(factory, lasting) == "fin1"  # through the whole of its last day
    with clock.frozen_at(dt.datetime(2026, 7, 3, 0, 0, tzinfo=clock.CST)):
        assert _acts_as(factory, lasting) is None

    kept, _ = _make(world, "fin2")
    with transaction(factory) as session:
        set_active(session, CONSOLE, find_user(session, "fin2"), False)
    assert _acts_as(factory, kept) is None
    with transaction(factory) as session, pytest.raises(Conflict):
        create_token(session, world["fin2"], find_user(session, "fin2"), name="x",
                     expires_on=None)
    with transaction(factory) as session:
        set_active(session, CONSOLE, find_user(session, "fin2"), True)
    assert _acts_as(factory, kept) is None  # revoked for good: reactivation revives nothing
    with factory() as session:
        row = session.execute(select(ApiToken).where(ApiToken.hint == kept[:7])).scalar_one()
        assert row.revoked_by == CONSOLE.name and row.revoked_at is not None


def test_only_the_user_makes_their_tokens(world, factory):
    assert _make(world, "ca")[0]
    assert _make(world, "admin")[0]  # an administrator's own token is theirs
    others = [world[name] for name in ("admin", "city_admin", "co", "city_fin", "ay_admin",
                                       "ay_ca")]
    for maker in [*others, CONSOLE, Actor("ca", "console"), Actor("ca", "civil_affairs")]:
        with transaction(factory) as session, pytest.raises(PermissionDenied) as refused:
            create_token(session, maker, find_user(session, "ca"), name="x", expires_on=None)
        assert refused.value.params["name"] == "ca"
    with factory() as session:
        assert session.execute(select(func.count()).select_from(ApiToken)).scalar() == 2
        assert not session.execute(text("SELECT 1 FROM audit_log WHERE action = "
                                        "'api-token.create' AND actor <> subject_id AND "
                                        "actor NOT IN ('ca', 'admin')")).first()
    _token, token_id = _make(world, "ca")
    for outsider in ("co", "city_fin", "ay_admin"):
        with transaction(factory) as session, pytest.raises(NotFound):
            revoke_token(session, world[outsider], token_id)
    with transaction(factory) as session, pytest.raises(NotFound):  # an admin's own page
        revoke_token(session, world["admin"], token_id, owner=find_user(session, "co"))
    with factory() as session:
        assert session.get(ApiToken, token_id).revoked_at is None


@pytest.mark.parametrize(("name", "expires_on"), [
    ("", None), ("   ", None), ("x" * 81, None), ("a\nb", None),
    ("脚本", dt.date(2026, 7, 1)), ("脚本", dt.date(2020, 1, 1)),
])
def test_bad_names_and_past_expiry_are_refused(world, factory, name, expires_on):
    with transaction(factory) as session, pytest.raises(InvalidInput):
        create_token(session, world["ca"], find_user(session, "ca"), name=name,
                     expires_on=expires_on)


def test_an_expiry_in_the_past_is_refused_on_the_page_and_nothing_is_made(world, login,
                                                                          factory):
    ca = login("ca")
    for day in ("2026-07-01", "2026-06-30"):
        response = ca.post("/account/tokens", data={"name": "脚本", "expires_on": day})
        assert response.status_code == 422
        body = page_text(response)
        assert "晚于今天" in body and "2026-07-01" in body and not TOKEN.search(body)
    with locale_as("en"):
        with transaction(factory) as session, pytest.raises(InvalidInput) as error:
            create_token(session, world["ca"], find_user(session, "ca"), name="x",
                         expires_on=dt.date(2026, 6, 30))
        assert "after today (2026-07-01)" in str(error.value)
    assert ca.post("/account/tokens", data={"name": ""}).status_code == 422
    with factory() as session:
        assert session.execute(select(ApiToken)).first() is None
        assert not session.execute(text("SELECT 1 FROM audit_log WHERE action LIKE "
                                        "'api-token.%'")).first()


def test_only_the_owner_revokes_on_their_own_page(world, login, factory):
    token = _create_on_page(login("ca"), "/account/tokens")
    with factory() as session:
        token_id = session.execute(select(ApiToken.id)).scalar_one()
    for other in ("co", "admin", "ay_ca"):
        assert login(other).post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert _acts_as(factory, token) == "ca"
    ca = login("ca")
    response = ca.post(f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302 and response.location.endswith("/account/tokens")
    assert _acts_as(factory, token) is None
    assert ca.post(f"/account/tokens/{token_id}/revoke").status_code == 409
    listing = page_text(ca.get("/account/tokens"))
    assert "撤销" in listing and token not in listing
    with factory() as session:
        row = session.get(ApiToken, token_id)
        assert row.revoked_by == "ca" and row.revoked_at == clock.now()


@pytest.mark.parametrize("admin", ["admin", "city_admin"])
def test_an_administrator_of_the_jurisdiction_lists_and_revokes_but_never_makes_tokens(
        world, login, factory, admin):
    token = _create_on_page(login("ca"), "/account/tokens")
    ca_id = _user_id(factory, "ca")
    client = login(admin)
    users = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{ca_id}/tokens" in users
    listing = client.get(f"/admin/users/{ca_id}/tokens")
    assert listing.status_code == 200
    body = listing.get_data(as_text=True)
    assert f"{token[:7]}…" in body and 'name="expires_on"' not in body
    refused = client.post(f"/admin/users/{ca_id}/tokens", data={"name": "数据同步"})
    assert refused.status_code == 405 and not TOKEN.search(refused.get_data(as_text=True))
    with factory() as session:
        assert session.execute(select(func.count()).select_from(ApiToken)).scalar() == 1
        row = session.execute(select(ApiToken)).scalar_one()
    co_id = _user_id(factory, "co")  # the token is ca's, not co's
    assert client.post(f"/admin/users/{co_id}/tokens/{row.id}/revoke").status_code == 404
    response = client.post(f"/admin/users/{ca_id}/tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert _acts_as(factory, token) is None
    with factory() as session:
        assert session.get(ApiToken, row.id).revoked_by == admin


def test_an_administrator_of_another_county_finds_nothing(world, login, factory):
    token, token_id = _make(world, "ca")
    ca_id = _user_id(factory, "ca")
    ay_admin = login("ay_admin")
    assert ay_admin.get(f"/admin/users/{ca_id}/tokens").status_code == 404
    assert ay_admin.post(f"/admin/users/{ca_id}/tokens", data={"name": "x"}).status_code == 405
    assert ay_admin.post(f"/admin/users/{ca_id}/tokens/{token_id}/revoke").status_code == 404
    assert login("admin").get(f"/admin/users/{ca_id}/tokens").status_code == 200
    assert login("co").get(f"/admin/users/{ca_id}/tokens").status_code == 403
    assert _acts_as(factory, token) == "ca"
    with factory() as session:
        assert len(session.execute(select(ApiToken)).all()) == 1


def test_every_page_links_to_the_users_tokens(world, login):
    assert 'href="/account/tokens"' in login("ca").get("/dashboard").get_data(as_text=True)
    assert 'href="/account/tokens"' in login("admin").get("/admin/users").get_data(as_text=True)


def test_the_console_makes_a_token_only_with_its_users_own_password(world, run, run_as,
                                                                    factory):
    create = ["token", "create", "ca", "--name", "nightly export"]
    for refused in (run(*create, stdin="not-the-password-1\n"), run(*create),
                    run_as("admin", *create), run_as("co", *create)):
        status, out, err = refused
        assert (status, out) == (1, "") and err.count("\n") == 1, err
    assert "Wrong user name or password" in run(*create)[2]
    assert "Only ca may make their own API tokens" in run_as("admin", *create)[2]
    with factory() as session:
        assert session.execute(select(func.count()).select_from(ApiToken)).scalar() == 0
        assert find_user(session, "ca").failed_logins == 3

    status, out, err = run("token", "create", "CA", "--name", "nightly export",
                           "--expires", "2027-06-30", stdin=PASSWORD + "\n")
    assert status == 0, err
    token = out.strip()
    assert TOKEN.fullmatch(token) and out == token + "\n"  # alone: TOKEN=$(specialfund …)
    assert token not in err and token[:7] in err and "only this once" in err
    assert _acts_as(factory, token) == "ca"

    status, out, _ = run("token", "list", "ca")
    assert status == 0 and token not in out
    assert "nightly export" in out and token[:7] in out and "2027-06-30" in out
    assert "active" in out

    with factory() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        token_id = row.id
        assert (row.created_by, row.created_by_id) == ("ca", find_user(session, "ca").id)
    status, out, err = run("token", "revoke", str(token_id))
    assert status == 1 and "reserved to a role" in err
    status, out, err = run_as("co", "token", "revoke", str(token_id))
    assert status == 1 and "no API token" in err
    status, out, _ = run_as("admin", "token", "revoke", str(token_id))
    assert status == 0 and token[:7] in out and token not in out
    assert _acts_as(factory, token) is None
    status, out, _ = run("token", "list", "ca")
    assert "revoked" in out and "admin" in out and token not in out

    status, out, err = run_as("ca", "token", "revoke", str(token_id))
    assert status == 1 and err.startswith("Error: ") and "already revoked" in err
    status, out, err = run("token", "create", "ca", "--name", "late", "--expires", "2026-06-30",
                           stdin=PASSWORD + "\n")
    assert status == 1 and out == "" and err.count("\n") == 1
    status, out, err = run("token", "create", "nobody", "--name", "x", stdin=PASSWORD + "\n")
    assert status == 1 and out == ""
    with factory() as session:
        assert len(session.execute(select(ApiToken)).all()) == 1


def test_a_token_someone_else_made_opens_nothing(world, factory, app, login):
    """The first API release let an administrator or the console make a user's token."""
    made = {}
    with transaction(factory) as session:
        ca, admin = find_user(session, "ca"), find_user(session, "admin")
        for maker, maker_id in (("admin", admin.id), ("cli:ops", None), ("ca", None)):
            token = generate()
            session.add(ApiToken(user=ca, name=f"by {maker}", token_hash=hash_token(token),
                                 hint=token[:7], created_by=maker, created_by_id=maker_id,
                                 created_at=clock.now()))
            made[maker] = token
    client = app.test_client()
    for token in made.values():
        assert _acts_as(factory, token) is None
        response = client.get("/api/v1/funds", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    own = _create_on_page(login("ca"), "/account/tokens")
    assert client.get("/api/v1/funds", headers={"Authorization": f"Bearer {own}"}
                      ).status_code == 200

    admin_page = login("admin")
    admin_page.post("/language/en")
    body = page_text(admin_page.get(f"/admin/users/{_user_id(factory, 'ca')}/tokens"))
    for maker in ("admin", "cli:ops"):
        assert f"Opens nothing: made by {maker}, not by its user" in body
    assert body.count("Opens nothing") == 3 and body.count("Active") == 1
    with factory() as session:
        old = session.execute(select(ApiToken.id).where(ApiToken.created_by == "admin")
                              ).scalar_one()
    assert admin_page.post(f"/admin/users/{_user_id(factory, 'ca')}/tokens/{old}/revoke"
                           ).status_code == 302
