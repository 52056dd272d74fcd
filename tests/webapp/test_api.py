"""The JSON API, as a program uses it: tokens, every workflow transition, money moved
once whatever the retries, and errors as problem documents that leak nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import transaction
from core.i18n import locale_as
from grants import operations as ops
from ledger.journal import find_fund
from ledger.models import JournalEntry
from people.tokens import create_token
from people.users import find_user
from tests.worlds import project_input

BODY = {
    "title": "雁江区困境儿童助学（接口）",
    "purpose": "Education",
    "implementing_unit": "雁江区民政局",
    "payee": "雁江区希望小学",
    "requested_amount": "90000.00",
    "summary": "为困境儿童提供助学金。",
    "budget": [{"item": "助学金", "amount": "90000.00"}],
    "counts": {"in_difficulty": 45},
    "tranches": [{"planned_date": "2026-07-15", "amount": "60000.00"},
                 {"planned_date": "2026-09-15", "amount": "30000.00",
                  "condition": "progress_report"}],
    "progress_report_due": "2026-08-31",
    "final_report_due": "2026-12-31",
}


@pytest.fixture
def tokens(world, factory):
    """An API token for every user of the world."""
    made = {}
    with transaction(factory) as session:
        for name in world.actors:
            made[name], _row = create_token(session, world[name], find_user(session, name),
                                            name="tests", expires_on=None)
    return made


@pytest.fixture
def as_user(app, tokens):
    """as_user("ca").post(path, json=...) -> the API's answer, with that user's token."""

    class Caller:
        def __init__(self, name: str | None) -> None:
            self.headers = {"Authorization": f"Bearer {tokens[name]}"} if name else {}
            self.client = app.test_client()

        def __getattr__(self, method: str):
            def call(path: str, **kwargs):
                headers = {**self.headers, **kwargs.pop("headers", {})}
                return getattr(self.client, method)("/api/v1" + path, headers=headers,
                                                    **kwargs)
            return call

    return Caller


def step(caller, project: int, name: str, status: int = 200, **body):
    response = caller.post(f"/projects/{project}/transitions/{name}", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_project_from_draft_to_close_through_the_api(as_user, world, factory):
    ca, co, fin1, fin2 = (as_user(n) for n in ("ca", "co", "fin1", "fin2"))
    created = ca.post("/projects", json=BODY)
    assert created.status_code == 201, created.get_json()
    project = created.get_json()
    pid = project["id"]
    assert project["state"] == "draft" and project["requested_amount"] == "90000.00"
    assert project["steps"] == ["submit"]

    assert step(ca, pid, "submit")["state"] == "submitted"
    assert step(co, pid, "check", no_conflict=True)["state"] == "checked"
    approved = step(fin1, pid, "approve", amount="90000.00", no_conflict=True)
    assert approved["state"] == "approved"  # under the fund's ¥100,000 threshold: one approver
    before = fin1.get("/funds/YJQ/balances").get_json()
    education = next(p for p in before["purposes"] if p["purpose"] == "Education")
    assert education["committed"] == "90000.00"

    step(ca, pid, "request_tranche", seq=1)
    step(fin2, pid, "approve_tranche", seq=1, no_conflict=True)
    paid = step(co, pid, "pay_tranche", seq=1, bank_ref="ICBC-API-0001", paid_on="2026-07-01")
    assert paid["state"] == "partially_paid"
    assert paid["tranches"][0]["ledger_ref"].startswith("YJQ#")
    progress = next(r for r in paid["reports"] if r["kind"] == "progress")
    step(ca, pid, "file_report", report_id=progress["id"], body="已发放第一批助学金。",
         spent_amount="60000.00")
    step(fin1, pid, "accept_report", report_id=progress["id"])
    step(ca, pid, "request_tranche", seq=2)
    step(fin1, pid, "approve_tranche", seq=2, no_conflict=True)
    assert step(co, pid, "pay_tranche", seq=2, bank_ref="ICBC-API-0002")["state"] == "paid"
    final = next(r for r in paid["reports"] if r["kind"] == "final")
    step(ca, pid, "file_report", report_id=final["id"], body="全部发放。",
         spent_amount="88000.00")
    assert step(fin2, pid, "accept_report", report_id=final["id"])["state"] == "completed"
    returned = step(co, pid, "return_unspent", bank_ref="TH-API-1", paid_on="2026-07-01")
    closed = step(fin1, pid, "close")
    assert closed["state"] == "closed" and closed["steps"] == []
    actions = [t["action"] for t in closed["timeline"]]
    assert actions[:4] == ["create", "submit", "check", "approve"] and actions[-1] == "close"
    assert returned["tranches"][1]["bank_ref"] == "ICBC-API-0002"

    after = fin1.get("/funds/YJQ/balances").get_json()
    education = next(p for p in after["purposes"] if p["purpose"] == "Education")
    assert education["committed"] == "0.00" and education["paid"] == "88000.00"
    assert Decimal(education["available"]) == Decimal("500000") - Decimal("88000")


def test_return_reject_cancel_and_return_report_through_the_api(as_user, world, approved):
    ca, co, fin1 = as_user("ca"), as_user("co"), as_user("fin1")
    pid = ca.post("/projects", json=BODY).get_json()["id"]
    step(ca, pid, "submit")
    returned = step(co, pid, "return", reason="预算明细不全")
    assert returned["state"] == "returned" and returned["timeline"][-1]["reason"] == "预算明细不全"
    step(ca, pid, "submit")
    assert step(co, pid, "reject", reason="不符合资助范围")["state"] == "rejected"
    step(ca, approved, "request_tranche", seq=1)
    step(fin1, approved, "approve_tranche", seq=1, no_conflict=True)
    project = step(co, approved, "pay_tranche", seq=1, bank_ref="ZF-9")
    progress = next(r for r in project["reports"] if r["kind"] == "progress")
    step(ca, approved, "file_report", report_id=progress["id"], body="进展", spent_amount="1")
    sent_back = step(fin1, approved, "return_report", report_id=progress["id"],
                     reason="请补充票据")
    assert next(r for r in sent_back["reports"] if r["id"] == progress["id"])["state"] == "due"
    cancelled = step(fin1, approved, "cancel", reason="项目终止")
    assert cancelled["state"] == "cancelled"


def test_the_approve_step_above_the_threshold_needs_two_finance_users(as_user, checked):
    first = step(as_user("fin1"), checked, "approve", amount="120000", no_conflict=True)
    assert first["state"] == "checked" and "approve" not in first["steps"]
    assert step(as_user("fin2"), checked, "approve", amount="120000",
                no_conflict=True)["state"] == "approved"


def disbursements(factory) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.type == "disbursement")).scalar_one()


def test_a_retried_payment_pays_once(as_user, world, factory, approved):
    step(as_user("ca"), approved, "request_tranche", seq=1)
    step(as_user("fin1"), approved, "approve_tranche", seq=1, no_conflict=True)
    co = as_user("co")
    key = {"Idempotency-Key": "pay-YJQ-1-tranche-1"}
    body = {"seq": 1, "bank_ref": "ICBC-RETRY-1"}
    first = co.post(f"/projects/{approved}/transitions/pay_tranche", json=body, headers=key)
    again = co.post(f"/projects/{approved}/transitions/pay_tranche", json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert disbursements(factory) == 1
    other = co.post(f"/projects/{approved}/transitions/pay_tranche",
                    json={**body, "bank_ref": "ICBC-RETRY-2"}, headers=key)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency-key-reused"
    # Without the key a second payment of the same tranche is refused by the workflow.
    assert co.post(f"/projects/{approved}/transitions/pay_tranche",
                   json=body).status_code == 409
    assert disbursements(factory) == 1


def test_a_retried_donation_is_receipted_once(as_user, factory):
    co = as_user("co")
    donor = co.post("/funds/YJQ/donors", json={"kind": "enterprise", "name": "资阳接口捐赠公司"})
    assert donor.status_code == 201
    gift = {"donor_id": donor.get_json()["id"], "date": "2026-06-30", "amount": "5000.00",
            "purpose": "education"}
    key = {"Idempotency-Key": "gift-2026-06-30-1"}
    first = co.post("/funds/YJQ/donations", json=gift, headers=key)
    again = co.post("/funds/YJQ/donations", json=gift, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["code"] == again.get_json()["code"]
    register = co.get("/funds/YJQ/receipts?year=2026").get_json()["items"]
    assert [r["code"] for r in register] == [first.get_json()["code"]]


def test_a_failed_request_keeps_no_key_and_moves_nothing(as_user, factory, checked):
    fin1 = as_user("fin1")
    key = {"Idempotency-Key": "too-much"}
    refused = fin1.post(f"/projects/{checked}/transitions/approve", headers=key,
                        json={"amount": "900000", "no_conflict": True})
    assert refused.status_code == 422
    problem = refused.get_json()
    assert refused.mimetype == "application/problem+json"
    assert problem["code"] == "rule-violation" or problem["code"] == "invalid-input"
    assert "¥" in problem["detail"]  # the page's message: available vs requested
    # The key was not kept: the same key with a right amount is a new request.
    fine = fin1.post(f"/projects/{checked}/transitions/approve", headers=key,
                     json={"amount": "120000", "no_conflict": True})
    assert fine.status_code == 200 and "Idempotent-Replayed" not in fine.headers


def test_a_token_of_one_county_cannot_reach_another(as_user, world):
    theirs = world.run("ay_ca", ops.create_project, data=project_input(title="安岳县项目"))
    ca = as_user("ca")
    assert ca.get(f"/projects/{theirs}").status_code == 404
    assert ca.post(f"/projects/{theirs}/transitions/submit", json={}).status_code == 404
    assert ca.get(f"/projects/{theirs}/tranches").status_code == 404
    assert ca.get("/funds/AYX/balances").status_code == 404
    assert all(p["fund"] == "YJQ" for p in ca.get("/projects").get_json()["items"])
    assert {f["code"] for f in ca.get("/funds").get_json()["items"]} == {"YJQ"}
    city = as_user("city_fin")  # the city reads the counties below it, as on the pages
    assert city.get(f"/projects/{theirs}").status_code == 200
    assert city.post(f"/projects/{theirs}/transitions/submit", json={}).status_code == 403


def test_roles_and_tokens(as_user, app, tokens, factory, login):
    assert as_user("aud").post("/projects", json=BODY).status_code == 403
    assert as_user("fin1").get("/audit-log").status_code == 403
    log = as_user("aud").get("/audit-log?per_page=5").get_json()
    assert len(log["items"]) == 5 and log["has_next"]
    # What the API gives is enough to recompute a record's hash: its position in its chain.
    from core.hashing import canonical_json, chain_hash
    for item in log["items"]:
        payload = {key: item[key] for key in ("at", "actor", "role", "action", "subject_type",
                                              "subject_id", "reason")}
        payload |= {"id": item["position"], **{key: None if item[key] is None else
                                                canonical_json(item[key])
                                                for key in ("before", "after")}}
        if item["fund"] is not None:
            payload["fund"] = item["fund"]
        assert chain_hash(item["prev_hash"], payload) == item["hash"]
    anonymous = as_user(None)
    missing = anonymous.get("/funds")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.get("/funds", headers={"Authorization": "Bearer sf_nope"}).status_code == 401
    # A signed-in browser is not signed in to the API: only tokens are.
    assert login("fin1").get("/api/v1/funds").status_code == 401
    assert anonymous.get("/public/projects?fund=YJQ").status_code == 200  # open data


def test_errors_are_problems_in_the_callers_language_and_echo_nothing(as_user, world, draft):
    ca = as_user("ca")
    secret = "510102201005121234"  # a child's ID number typed into the wrong field
    bad = ca.post("/projects", json={**BODY, "requested_amount": secret + "x"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert bad.get_json()["code"] == "invalid-input"
    assert bad.get_json()["errors"][0]["loc"] == ["requested_amount"]
    assert secret not in bad.get_data(as_text=True)
    with locale_as("zh_CN"):
        assert "请" in bad.get_json()["detail"]
    english = ca.post("/projects", json=BODY | {"purpose": "Nope"},
                      headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 422
    assert english.get_json()["detail"].startswith("Unknown purpose “Nope”")
    with world.reading(draft, as_user="ca") as project:
        version = project.version
    stale = ca.put(f"/projects/{draft}", json={**BODY, "version": version + 1})
    assert stale.status_code == 409 and stale.get_json()["code"] == "conflict"
    fresh = ca.put(f"/projects/{draft}", json={**BODY, "version": version})
    assert fresh.status_code == 200 and fresh.get_json()["title"] == BODY["title"]
    assert ca.post("/projects", data="title=x").status_code == 422  # not JSON
    assert ca.post("/projects/1/transitions/fly", json={}).status_code == 404
    assert ca.delete("/projects").status_code == 405


def test_bank_statement_and_entries(as_user, world, factory):
    co = as_user("co")
    csv = ("交易日期,流水号,摘要,对方户名,收入金额,支出金额,余额\n"
           "2026-06-21,LX-1,利息,银行,12.34,,1000012.34\n").encode()
    imported = co.post("/funds/YJQ/bank-statements?filename=june.csv", data=csv,
                       content_type="text/csv")
    assert imported.status_code == 201, imported.get_json()
    assert imported.get_json()["lines"] == 1
    again = co.post("/funds/YJQ/bank-statements?filename=june.csv", data=csv,
                    content_type="text/csv")
    assert again.status_code == 409
    (listed,) = as_user("aud").get("/funds/YJQ/bank-statements").get_json()["items"]
    assert (listed["id"], listed["filename"], listed["lines"]) == (
        imported.get_json()["statement_id"], "june.csv", 1)
    broken = co.post("/funds/YJQ/bank-statements", data=b"\xff\xfe\x00garbage",
                     content_type="text/csv")
    assert broken.status_code == 422
    entries = as_user("aud").get("/funds/YJQ/entries?per_page=2").get_json()
    with factory() as session:
        last = session.execute(select(func.max(JournalEntry.seq)).where(
            JournalEntry.fund_id == find_fund(session, "YJQ").id)).scalar_one()
    assert [e["seq"] for e in entries["items"]] == [last, last - 1]
    assert all(sum(Decimal(p["amount"]) for p in e["postings"]) == 0 for e in entries["items"])


def test_the_document_describes_every_route(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method.upper()) for path, ops_ in doc["paths"].items()
                 for method in ops_}
    flask_style = {(p.replace("{project_id}", "<int:project_id>").replace("{code}", "<code>")
                    .replace("{name}", "<name>").replace("{dataset}", "<dataset>"), m)
                   for p, m in described}
    assert flask_style == routes
