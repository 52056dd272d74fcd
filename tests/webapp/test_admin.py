"""Administrators manage users and funds of their jurisdiction -- never money."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from audit.models import AuditRecord
from grants.models import FundPolicy
from ledger.journal import find_fund
from ledger.models import Fund
from people.models import RelatedParty, User
from tests.webapp.conftest import text


def test_admin_creates_a_user_who_can_sign_in(world, login, app):
    admin = login("admin")
    response = admin.post("/admin/users", data={
        "username": "new_ca", "display_name": "新经办人", "role": "civil_affairs",
        "fund": "YJQ", "password": "a-good-pass-7"})
    assert response.status_code == 302
    assert login("new_ca", "a-good-pass-7").get("/dashboard").status_code == 200


def test_admin_cannot_create_users_elsewhere_or_with_weak_passwords(world, login, factory):
    admin = login("admin")  # admin of 雁江区, a county
    outside = admin.post("/admin/users", data={
        "username": "x_ca", "display_name": "x", "role": "civil_affairs", "fund": "AYX",
        "password": "a-good-pass-7"})
    assert outside.status_code == 422
    weak = admin.post("/admin/users", data={
        "username": "y_ca", "display_name": "y", "role": "civil_affairs", "fund": "YJQ",
        "password": "1234567890"})
    assert weak.status_code == 422 and "密码" in text(weak)
    with factory() as session:
        assert not session.execute(select(User).where(
            User.username.in_(["x_ca", "y_ca"]))).first()


def test_admin_deactivates_and_records_related_parties(world, login, factory):
    with factory() as session:
        co = session.execute(select(User).where(User.username == "co")).scalar_one()
        co_id = co.id
    co_client = login("co")
    admin = login("admin")
    admin.post(f"/admin/users/{co_id}/related", data={"party": "雁江区希望小学"})
    admin.post(f"/admin/users/{co_id}/active/0")
    assert "用户co已停用。已退出会话：1 个" in text(admin.get("/admin/users"))
    assert co_client.get("/dashboard").status_code == 302  # signed out on the server
    admin.post(f"/admin/users/{co_id}/active/1")
    assert co_client.get("/dashboard").status_code == 302  # and not revived
    admin.post(f"/admin/users/{co_id}/active/0")
    with factory() as session:
        assert session.execute(select(RelatedParty.party).where(
            RelatedParty.user_id == co_id)).scalar_one() == "雁江区希望小学"
        assert session.get(User, co_id).active is False
        actions = set(session.execute(select(AuditRecord.action)).scalars())
        assert {"user.related-party", "user.deactivate"} <= actions


def test_admin_sets_the_dual_approval_threshold_and_it_is_audited(world, login, factory):
    admin = login("admin")
    assert admin.post("/admin/funds/YJQ/policy", data={"threshold": "50,000"}).status_code == 302
    assert admin.post("/admin/funds/YJQ/policy",
                      data={"threshold": "-3"}).status_code == 400
    with factory() as session:
        fund = find_fund(session, "YJQ")
        assert session.get(FundPolicy, fund.id).dual_approval_threshold == Decimal("50000.00")
        record = session.execute(select(AuditRecord).where(
            AuditRecord.action == "fund.policy")).scalar_one()
        assert "50000.00" in record.after


def test_only_a_city_admin_opens_county_funds(world, login, factory):
    form = {"code": "NEW", "name_zh": "新区", "name_en": "New District",
            "opened_on": "2026-07-01"}
    county_admin = login("admin")
    assert 'name="name_zh"' not in county_admin.get("/admin/funds").get_data(as_text=True)
    county_admin.post("/admin/funds", data=form)
    with factory() as session:
        assert session.execute(select(Fund).where(Fund.code == "NEW")).first() is None
    city_admin = login("city_admin")
    assert city_admin.post("/admin/funds", data=form).status_code == 302
    with factory() as session:
        fund = find_fund(session, "NEW")
        assert (fund.level, fund.parent.code) == ("county", "ZYS")
