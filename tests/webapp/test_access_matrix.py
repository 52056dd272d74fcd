"""Every URL × every role × own / other jurisdiction → the expected status.

The expectations are written out here, independently of the code that enforces
them. A URL added to the app without a row here fails the completeness test.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from core.db import transaction
from core.protection import Protector
from grants import attachments, beneficiaries
from grants import operations as ops
from grants.access import get_project
from jobs.runner import request_job, run_job
from ledger import donations
from people.models import ApiToken
from people.tokens import create_token
from people.users import find_user
from reports import engagements
from tests.worlds import PASSWORD, USERS, project_input
from webapp.demo import synthetic_id

ANON = "anonymous"
STAFF = {"civil_affairs", "charity_office", "finance", "auditor"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def where(user: str) -> str:
    """own: the project's county (YJQ); city: the city above it; other: another county."""
    return {"YJQ": "own", "ZYS": "city", "AYX": "other"}[USERS[user][1]]


def role(user: str) -> str:
    return USERS[user][0]


def reader(user: str) -> bool:
    """May read the YJQ project: its own staff, and city finance and auditors."""
    return role(user) in STAFF and (
        where(user) == "own" or (where(user) == "city" and role(user) in ("finance", "auditor")))


def gate(user: str, roles: set[str], inner: Callable[[], int]) -> int:
    """Sign-in, then the view's role gate, then the inner rule."""
    if user == ANON:
        return 302
    return inner() if role(user) in roles else 403


def project_view(user: str, roles: set[str], ok: int, *, act: bool = False) -> int:
    """A view on the YJQ project: invisible (404) to those who may not read it; for an
    action, readers outside YJQ are refused (403)."""
    def inner() -> int:
        if not reader(user):
            return 404
        if act and where(user) != "own":
            return 403
        return ok
    return gate(user, roles, inner)


def fund_action(user: str, roles: set[str], ok: int) -> int:
    """An action on YJQ's money: the role gate, then invisible (404) outside what the user
    may read, refused (403) to readers from elsewhere, else ``ok`` (the empty form's answer)."""
    return project_view(user, roles, ok, act=True)


def admin_action(user: str) -> int | None:
    """An administrator's change to a YJQ user or fund: theirs to make for the YJQ and city
    administrators (success changes data: not a matrix case); 404 for another county's."""
    return None if user in ("admin", "city_admin") else gate(user, {"admin"}, lambda: 404)


# (method, path template, expected(user) -> status or None to skip a success that changes data)
ROWS = {
    "main.index": ("GET", "/", lambda u: 302),
    "auth.login": ("GET", "/login", lambda u: 200),
    "auth.logout": ("POST", "/logout", lambda u: 302),
    "auth.password": ("GET", "/password", lambda u: 302 if u == ANON else 200),
    "auth.language": ("POST", "/language/en", lambda u: 302),
    # Everyone's own tokens; the token here is fin1's, and nobody else's to revoke.
    "auth.tokens": ("GET", "/account/tokens", lambda u: 302 if u == ANON else 200),
    "auth.revoke_token": ("POST", "/account/tokens/{tid}/revoke",
                          lambda u: 302 if u == ANON else None if u == "fin1" else 404),
    "static": ("GET", "/static/css/app.css", lambda u: 200),
    # Probes answer everyone, with nothing but the names of the checks.
    "healthz": ("GET", "/healthz", lambda u: 200),
    "readyz": ("GET", "/readyz", lambda u: 200),
    "main.dashboard": ("GET", "/dashboard",
                       lambda u: 302 if u == ANON or role(u) == "admin" else 200),
    "main.fund": ("GET", "/funds/YJQ", lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "projects.index": ("GET", "/projects/", lambda u: gate(u, STAFF, lambda: 200)),
    "projects.new": ("GET", "/projects/new", lambda u: gate(u, {"civil_affairs"}, lambda: 200)),
    "projects.show": ("GET", "/projects/{pid}", lambda u: project_view(u, STAFF, 200)),
    "projects.edit": ("GET", "/projects/{pid}/edit",
                      lambda u: project_view(u, {"civil_affairs"}, 200)),
    "projects.step": ("POST", "/projects/{pid}/steps/submit",
                      lambda u: None if u == "ca" else project_view(u, STAFF, 403, act=True)),
    "projects.upload": ("POST", "/projects/{pid}/attachments",
                        lambda u: None if u != ANON and where(u) == "own" and role(u) in (
                            "civil_affairs", "charity_office", "finance")
                        else project_view(u, STAFF, 403, act=True)),
    "projects.download": ("GET", "/projects/{pid}/attachments/{aid}",
                          lambda u: project_view(u, STAFF, 200)),
    "projects.add_child": ("POST", "/projects/{pid}/beneficiaries",
                           lambda u: None if u == "ca"
                           else project_view(u, {"civil_affairs"}, 403, act=True)),
    "projects.reveal": ("POST", "/projects/{pid}/beneficiaries/{bid}/id",
                        lambda u: project_view(u, {"civil_affairs", "auditor"},
                                               200 if u == ANON or where(u) == "own" else 403)),
    "money.treasury_page": ("GET", "/funds/YJQ/treasury",
                            lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "money.post_treasury": ("POST", "/funds/YJQ/treasury",
                            lambda u: fund_action(u, {"finance"}, 400)),
    "money.top_up_rule": ("POST", "/funds/YJQ/treasury/rule",
                          lambda u: fund_action(u, {"finance"}, 400)),
    "money.donations_page": ("GET", "/funds/YJQ/donations",
                             lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "money.add_donor": ("POST", "/funds/YJQ/donors",
                        lambda u: fund_action(u, {"charity_office"}, 400)),
    "money.record_donation": ("POST", "/funds/YJQ/donations",
                              lambda u: fund_action(u, {"charity_office"}, 400)),
    "money.void": ("POST", "/funds/YJQ/receipts/{receipt}/void",
                   lambda u: fund_action(u, {"charity_office"}, 400)),
    "money.return_donation": ("POST", "/funds/YJQ/receipts/{receipt}/return",
                              lambda u: fund_action(u, {"charity_office"}, 400)),
    "money.receipt_pdf": ("GET", "/funds/YJQ/receipts/{receipt}.pdf",
                          lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "money.allocations_page": ("GET", "/funds/YJQ/allocations",
                               lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "money.decide": ("POST", "/funds/YJQ/allocations/999/confirm",
                     lambda u: fund_action(u, {"finance"}, 404)),
    "money.bank_page": ("GET", "/funds/YJQ/bank",
                        lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "money.import_statement": ("POST", "/funds/YJQ/bank/import",
                               lambda u: fund_action(u, {"charity_office"}, 400)),
    "money.settle_line": ("POST", "/funds/YJQ/bank/lines/999",
                          lambda u: fund_action(u, {"charity_office"}, 404)),
    "money.reconcile_month": ("POST", "/funds/YJQ/bank/reconcile",
                              lambda u: fund_action(u, {"charity_office", "finance"}, 400)),
    "money.close": ("POST", "/funds/YJQ/periods/close",
                    lambda u: fund_action(u, {"finance"}, 400)),
    "annual.index": ("GET", "/funds/YJQ/annual/",
                     lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "annual.edit": ("GET", "/funds/YJQ/annual/2025",
                    lambda u: gate(u, STAFF, lambda: 200 if reader(u) else 404)),
    "annual.publish": ("POST", "/funds/YJQ/annual/2025/publish",
                       lambda u: fund_action(u, {"finance"}, 404)),  # no report yet
    "annual.pdf": ("GET", "/funds/YJQ/annual/2025.pdf",
                   lambda u: gate(u, STAFF, lambda: 404)),  # no report yet
    "annual.prepare": ("POST", "/funds/YJQ/annual/2025/prepare",
                       lambda u: gate(u, STAFF, lambda: 404)),  # no report yet
    "annual.correction": ("POST", "/funds/YJQ/annual/corrections",
                          lambda u: fund_action(u, {"finance", "auditor"}, 400)),
    "annual.edition": ("GET", "/funds/YJQ/annual/2025/editions/1.pdf",
                       lambda u: gate(u, {"auditor"}, lambda: 404)),  # no report yet
    "withdrawals.index": ("GET", "/funds/YJQ/withdrawals/",
                          lambda u: gate(u, {"finance", "charity_office", "auditor"},
                                         lambda: 404 if not reader(u)
                                         else 200 if where(u) == "own" else 403)),
    "withdrawals.propose": ("POST", "/funds/YJQ/withdrawals/",
                            lambda u: fund_action(u, {"finance", "charity_office"}, 400)),
    "withdrawals.confirm": ("POST", "/funds/YJQ/withdrawals/999/confirm",
                            lambda u: fund_action(u, {"finance", "charity_office"}, 404)),
    "withdrawals.cancel": ("POST", "/funds/YJQ/withdrawals/999/cancel",
                           lambda u: fund_action(u, {"finance", "charity_office"}, 404)),
    "audits.index": ("GET", "/audits/", lambda u: gate(u, STAFF, lambda: 200)),
    "audits.create": ("POST", "/audits/", lambda u: gate(u, {"auditor"}, lambda: 422)),
    "audits.show": ("GET", "/audits/{eid}",
                    lambda u: gate(u, STAFF, lambda: 200 if (
                        role(u) == "auditor" and reader(u)) or where(u) == "own" else 404)),
    "audits.sample": ("POST", "/audits/{eid}/sample",
                      lambda u: gate(u, {"auditor"}, lambda: 422)),
    "audits.record": ("POST", "/audits/{eid}/findings",
                      lambda u: gate(u, {"auditor"}, lambda: 422)),
    "audits.publish": ("POST", "/audits/{eid}/publish",
                       lambda u: gate(u, {"auditor"}, lambda: 422)),
    "audits.respond": ("POST", "/audits/{eid}/findings/{fid}/response",
                       lambda u: gate(u, {"finance", "charity_office", "civil_affairs"},
                                      lambda: 422 if where(u) == "own" else 404)),
    "downloads.index": ("GET", "/downloads/",
                        lambda u: gate(u, {"auditor", "finance"}, lambda: 200)),
    "downloads.file": ("GET", "/downloads/file?fund=YJQ&report=fund-statement&period=2026"
                              "&format=csv",
                       lambda u: gate(u, {"auditor", "finance"},
                                      lambda: 200 if reader(u) else 404)),
    "downloads.prepare": ("POST", "/downloads/prepare",
                          lambda u: gate(u, {"auditor", "finance"}, lambda: 400)),
    # A job (a YJQ statement fin1 asked for, done): its asker's alone.
    "jobs.show": ("GET", "/jobs/{job}", lambda u: gate(u, STAFF | {"admin"},
                                                       lambda: 200 if u == "fin1" else 404)),
    "jobs.file": ("GET", "/jobs/{job}/file", lambda u: gate(u, STAFF | {"admin"},
                                                            lambda: 200 if u == "fin1" else 404)),
    "jobs.retry": ("POST", "/jobs/{job}/retry",
                   lambda u: gate(u, STAFF | {"admin"}, lambda: 409 if u == "fin1" else 404)),
    "admin.users": ("GET", "/admin/users", lambda u: gate(u, {"admin"}, lambda: 200)),
    "admin.activate": ("POST", "/admin/users/{other}/active/0",
                       admin_action),
    "admin.related": ("POST", "/admin/users/{other}/related",
                      admin_action),
    "admin.user_tokens": ("GET", "/admin/users/{other}/tokens",
                          lambda u: gate(u, {"admin"}, lambda: 200 if where(u) != "other"
                                         else 404)),
    "admin.revoke_token": ("POST", "/admin/users/{other}/tokens/{tid}/revoke", admin_action),
    "admin.funds": ("GET", "/admin/funds", lambda u: gate(u, {"admin"}, lambda: 200)),
    "admin.policy": ("POST", "/admin/funds/YJQ/policy",
                     admin_action),
    # The public site: the same for everyone, signed in or not.
    # The API: a browser's sign-in does not open it (tests/webapp/test_api_access.py
    # runs the same matrix with tokens).
    **{endpoint: (method, path, lambda u: 401) for endpoint, (method, path) in {
        "api.list_funds": ("GET", "/api/v1/funds"),
        "api.fund_balances": ("GET", "/api/v1/funds/YJQ/balances"),
        "api.list_projects": ("GET", "/api/v1/projects"),
        "api.create_project": ("POST", "/api/v1/projects"),
        "api.get_one": ("GET", "/api/v1/projects/{pid}"),
        "api.update_project": ("PUT", "/api/v1/projects/{pid}"),
        "api.transition": ("POST", "/api/v1/projects/{pid}/transitions/submit"),
        "api.tranches": ("GET", "/api/v1/projects/{pid}/tranches"),
        "api.add_donor": ("POST", "/api/v1/funds/YJQ/donors"),
        "api.record_donation": ("POST", "/api/v1/funds/YJQ/donations"),
        "api.receipts": ("GET", "/api/v1/funds/YJQ/receipts"),
        "api.import_statement": ("POST", "/api/v1/funds/YJQ/bank-statements"),
        "api.statements": ("GET", "/api/v1/funds/YJQ/bank-statements"),
        "api.entries": ("GET", "/api/v1/funds/YJQ/entries"),
        "api.audit_log": ("GET", "/api/v1/audit-log"),
    }.items()},
    "api.openapi": ("GET", "/api/v1/openapi.json", lambda u: 200),
    "api.open_data": ("GET", "/api/v1/public/projects", lambda u: 200),
    "public.index": ("GET", "/public/", lambda u: 200),
    "public.verify": ("GET", "/public/verify", lambda u: 200),
    "public.fund": ("GET", "/public/funds/YJQ", lambda u: 200),
    "public.annual_pdf": ("GET", "/public/funds/YJQ/annual/2025.pdf", lambda u: 404),
    "public.data_index": ("GET", "/public/data/", lambda u: 200),
    "public.data_csv": ("GET", "/public/data/projects.csv", lambda u: 200),
    "public.data_json": ("GET", "/public/data/donations.json?fund=YJQ", lambda u: 200),
}


@pytest.fixture
def scene(app, world):
    """One draft YJQ project with a child on its list and an attachment."""
    pid = world.run("ca", ops.create_project, data=project_input())
    keys = Protector(str(app.config["DATA_KEY"]).encode(), str(app.config["HASH_KEY"]).encode())
    with transaction(world.factory) as session:
        project = get_project(session, world["ca"], pid)
        child = beneficiaries.add_beneficiary(
            session, world["ca"], keys, project, name="测试儿童",
            id_number=synthetic_id("512002", dt.date(2014, 5, 12), 1), category="left_behind",
            guardian="监护人", guardian_consent=True)
        attachment = attachments.store(session, world["ca"], project, filename="申报书.pdf",
                                       data=PDF, folder=Path(app.config["ATTACHMENTS_DIR"]))
        donor = donations.add_donor(session, world["co"], "YJQ", kind="enterprise",
                                    name="资阳某公司")
        receipt = donations.record_donation(session, world["co"], "YJQ", donor_id=donor.id,
                                            date=dt.date(2026, 6, 1), amount="800")
        engagement = engagements.open_engagement(session, world["aud"], "YJQ",
                                                 title="2026年度审计", period="2026")
        finding = engagements.record_finding(session, world["aud"], engagement.id,
                                             severity="low", title="测试发现",
                                             description="说明", links=[])
        fin1 = find_user(session, "fin1")
        _token, api_token = create_token(session, world["fin1"], fin1, name="脚本",
                                         expires_on=None)
        job = request_job(session, world["fin1"], "download",
                          {"report": "fund-statement", "format": "csv", "period": "2026",
                           "funds": ["YJQ"]}, [project.fund_id])
        ids = {"pid": pid, "bid": child.id, "aid": attachment.id, "receipt": receipt.code,
               "eid": engagement.id, "fid": finding.id, "other": fin1.id, "tid": api_token.id,
               "job": job.id}
    assert run_job(world.factory, ids["job"], Path(app.config["JOBS_DIR"])) == "done"
    return ids


def test_every_url_has_a_row(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROWS), f"add rows for {endpoints - set(ROWS)}"


@pytest.mark.slow  # every URL, as every role of three jurisdictions
def test_every_url_for_every_role_and_jurisdiction(app, world, scene):
    users = [ANON, *USERS]
    clients = {}
    for user in users:
        client = app.test_client()
        if user != ANON:
            client.post("/login", data={"username": user, "password": PASSWORD})
        clients[user] = client
    wrong = []
    for endpoint, (method, path, expect) in ROWS.items():
        url = path.format(**scene)
        for user in users:
            expected = expect(user)
            if expected is None:
                continue
            data = {"file": (io.BytesIO(PDF), "x.pdf")} if endpoint == "projects.upload" else {}
            response = clients[user].open(url, method=method, data=data)
            response.close()  # file responses hold their file open until closed
            if response.status_code != expected:
                wrong.append(f"{method} {url} as {user}: {response.status_code}, "
                             f"expected {expected}")
            if endpoint == "auth.logout" and user != ANON:  # sign back in
                clients[user].post("/login", data={"username": user, "password": PASSWORD})
    assert not wrong, "\n".join(wrong)
    with world.reading(scene["pid"]) as project:
        assert project.state == "draft"  # no refused request changed anything
        assert len(project.attachments) == 1
    with world.factory() as session:
        assert session.get(ApiToken, scene["tid"]).revoked_at is None


# --- what every list holds, for each role × jurisdiction ----------------------------------
#
# The statuses above say who may open a list; these say what it holds. Each fund gets
# its own recognisable rows (titles, donors, file names, notices, engagements ending in
# "标记<code>"), and each list, opened by each user, must hold the rows of the funds the
# user may read and none of the others'.

FUNDS = ("ZYS", "YJQ", "AYX")
# Users the world lacks, so that every fund has its own auditor and charity office.
EXTRA = {"ay_aud": ("auditor", "AYX"), "ay_co": ("charity_office", "AYX"),
         "city_co": ("charity_office", "ZYS")}
EVERYONE = {**USERS, **EXTRA}
# Who does each fund's work in the fixture: civil affairs, charity office, finance, auditor.
CREW = {"YJQ": ("ca", "co", "fin1", "aud"), "AYX": ("ay_ca", "ay_co", "ay_fin", "ay_aud"),
        "ZYS": ("city_ca", "city_co", "city_fin", "city_aud")}
ALLOCATED = {"YJQ": "1,357.91", "AYX": "2,468.02", "ZYS": "3,579.13"}
TWIN = synthetic_id("512002", dt.date(2015, 3, 9), 7)  # one child on two counties' lists


def mark(kind: str, fund: str) -> str:
    return f"{kind}标记{fund}"


def reads(user: str) -> set[str]:
    """The funds whose money and records the user may read (DESIGN §1): their own; the
    counties too for city finance and auditors; none for administrators."""
    role_, fund = EVERYONE[user]
    if role_ == "admin":
        return set()
    if fund == "ZYS" and role_ in ("finance", "auditor"):
        return set(FUNDS)
    return {fund}


def engagement_readers(user: str) -> set[str]:
    """Engagements: auditors read them where they read money; the audited units their
    own fund's only (reports/engagements.py)."""
    return reads(user) if EVERYONE[user][0] == "auditor" else reads(user) & {EVERYONE[user][1]}


@pytest.fixture
def per_fund(app, world, post):
    """In each fund: an approved project and a draft, a donor (and in YJQ an anonymous
    one) with a donation, a bank statement, an allocation proposal, a correction notice
    and an audit engagement, each marked with the fund's code; the same child on YJQ's
    and AYX's approved projects; one audit record that belongs to no fund."""
    import audit
    from ledger import allocations, bank
    from people.users import add_user
    from reports import annual
    from tests.worlds import CONSOLE

    post("seed", "ZYS", date=dt.date(2025, 1, 5), amount="1000000", doc_no="资财〔2025〕2号")
    post("allocation", "ZYS", date=dt.date(2025, 1, 6), amount="500000", purpose="education")
    with transaction(world.factory) as session:
        for name, (role_, fund) in EXTRA.items():
            world.actors[name] = add_user(session, CONSOLE, username=name, display_name=name,
                                          role=role_, fund_code=fund,
                                          password=PASSWORD).actor()
    keys = Protector(str(app.config["DATA_KEY"]).encode(), str(app.config["HASH_KEY"]).encode())
    made: dict[str, dict[str, object]] = {}
    for code, (ca, co, fin, aud) in CREW.items():
        pid = world.run(ca, ops.create_project, data=project_input(
            title=mark("项目", code), requested_amount="12000.00",
            budget=[("助学金", "12000.00")],
            tranches=[(dt.date(2026, 7, 10), "12000.00", "none")]))
        if code in ("YJQ", "AYX"):
            with transaction(world.factory) as session:
                beneficiaries.add_beneficiary(
                    session, world[ca], keys, get_project(session, world[ca], pid),
                    name="重复儿童", id_number=TWIN, category="left_behind",
                    guardian="监护人", guardian_consent=True)
        world.run(ca, ops.submit, pid)
        world.run(co, ops.check, pid, no_conflict=True)
        assert world.run(fin, ops.approve, pid, amount="12000", no_conflict=True) is True
        draft_id = world.run(ca, ops.create_project,
                             data=project_input(title=mark("草稿", code)))
        with transaction(world.factory) as session:
            donor = donations.add_donor(session, world[co], code, kind="enterprise",
                                        name=mark("捐赠人", code))
            donations.record_donation(session, world[co], code, donor_id=donor.id,
                                      date=dt.date(2026, 6, 1), amount="500")
            if code == "YJQ":
                hidden = donations.add_donor(session, world[co], code, kind="enterprise",
                                             name=mark("匿名捐赠人", code), publish="anonymous")
                donations.record_donation(session, world[co], code, donor_id=hidden.id,
                                          date=dt.date(2026, 6, 2), amount="300")
            bank.import_statement(
                session, world[co], code,
                ("交易日期,摘要,对方户名,收入金额,支出金额,余额,流水号\n"
                 f"2026-06-03,利息,银行,1.00,,1.00,{code}0603\n").encode(),
                f"statement-mark-{code}.csv")
            allocations.propose(session, world[fin], code,
                                amounts={"education": ALLOCATED[code].replace(",", "")})
            annual.publish_correction(session, world[fin], code, subject="annual-report:2025",
                                      title=mark("更正", code), text="更正说明")
            engagement = engagements.open_engagement(session, world[aud], code,
                                                     title=mark("审计", code), period="2026")
            made[code] = {"pid": pid, "ref": get_project(session, world[ca], pid).ref,
                          "draft": draft_id, "eid": engagement.id}
    with transaction(world.factory) as session:
        audit.record(session, CONSOLE, "system.note", "system", "无基金标记")
    return made


def _visible(user: str, page: str, wanted: dict[str, str], allowed: set[str]) -> list[str]:
    """What is wrong with ``page``: each fund's marker in ``wanted`` must be there exactly
    when the fund is in ``allowed``."""
    wrong = []
    for fund, marker in wanted.items():
        if (marker in page) != (fund in allowed):
            wrong.append(f"{marker} {'missing' if fund in allowed else 'shown'}")
    return wrong


def _signed_in(app, users):
    clients = {}
    for user in users:
        client = app.test_client()
        response = client.post("/login", data={"username": user, "password": PASSWORD})
        assert response.status_code == 302, user
        clients[user] = client
    return clients


@pytest.mark.slow  # every list page, as every role of every fund
def test_every_list_holds_only_the_funds_a_user_may_read(app, world, per_fund):
    import csv

    from openpyxl import load_workbook

    from tests.webapp.conftest import prepared, text

    refs = {code: str(made["ref"]) for code, made in per_fund.items()}
    # (path, roles that open it, the markers it lists, whose markers a user sees)
    lists = [
        ("/dashboard", STAFF, {f: f"测试基金{f}" for f in FUNDS}, reads),
        ("/projects/?q=标记", STAFF, {f: mark("项目", f) for f in FUNDS}, reads),
        ("/projects/?q=标记", STAFF, {f: mark("草稿", f) for f in FUNDS}, reads),
        ("/projects/?fund=AYX", STAFF, {f: mark("项目", f) for f in FUNDS},
         lambda u: reads(u) & {"AYX"}),
        ("/audits/", STAFF, {f: mark("审计", f) for f in FUNDS}, engagement_readers),
        ("/downloads/", {"auditor", "finance"}, {f: f"测试基金{f}" for f in FUNDS}, reads),
        ("/downloads/file?report=grant-register&period=2026&format=csv",
         {"auditor", "finance"}, {f: mark("项目", f) for f in FUNDS}, reads),
        ("/downloads/file?report=donation-register&period=2026&format=csv",
         {"auditor", "finance"}, {f: mark("捐赠人", f) for f in FUNDS}, reads),
        ("/downloads/file?report=audit-log&period=2026&format=csv",
         {"auditor", "finance"}, {f: f"项目 {refs[f]}" for f in FUNDS}, reads),
        ("/downloads/file?report=audit-log&period=2026&format=xlsx",
         {"auditor", "finance"}, {f: f"项目 {refs[f]}" for f in FUNDS}, reads),
        # A record that belongs to no fund: for those who read every fund.
        ("/downloads/file?report=audit-log&period=2026&format=csv",
         {"auditor", "finance"}, {"*": "无基金标记"},
         lambda u: {"*"} if reads(u) == set(FUNDS) else set()),
        ("/admin/users", {"admin"}, {f: f"<td>{u}</td>" for f, u in
                                     (("YJQ", "fin1"), ("AYX", "ay_fin"), ("ZYS", "city_fin"))},
         lambda u: set(FUNDS) if EVERYONE[u][1] == "ZYS" else {EVERYONE[u][1]}),
    ]
    for code in FUNDS:  # a fund's own pages: its rows, never another fund's
        for path, kind in ((f"/funds/{code}/donations", "捐赠人"),
                           (f"/funds/{code}/annual/", "更正")):
            lists.append((path, STAFF, {f: mark(kind, f) for f in FUNDS},
                          lambda u, code=code: reads(u) & {code}))
        lists.append((f"/funds/{code}/bank", STAFF,
                      {f: f"statement-mark-{f}.csv" for f in FUNDS},
                      lambda u, code=code: reads(u) & {code}))
        lists.append((f"/funds/{code}/allocations", STAFF, ALLOCATED,
                      lambda u, code=code: reads(u) & {code}))
    clients = _signed_in(app, EVERYONE)
    wrong = []
    for path, roles, wanted, allowed in lists:
        for user, client in clients.items():
            # A workbook is made by a job: the same rows, through the job's page.
            response = prepared(client, path.split("?", 1)[1]) if "format=xlsx" in path \
                else client.get(path)
            if EVERYONE[user][0] not in roles:
                if response.status_code not in (302, 403):
                    wrong.append(f"{path} as {user}: {response.status_code}, expected refused")
                continue
            if response.status_code == 404 and not allowed(user):
                continue  # a fund's page outside what the user reads does not exist for them
            if response.status_code != 200:
                wrong.append(f"{path} as {user}: {response.status_code}")
                continue
            if "format=xlsx" in path:
                sheets = load_workbook(io.BytesIO(response.get_data())).worksheets
                page = "\n".join(str(cell) for sheet in sheets
                                 for row in sheet.iter_rows(values_only=True) for cell in row)
            elif response.mimetype == "text/csv":
                page = "\n".join(",".join(row) for row in csv.reader(
                    io.StringIO(response.get_data(as_text=True))))
            else:
                page = response.get_data(as_text=True) if path.startswith("/admin") \
                    else text(response)
            wrong += [f"{path} as {user}: {problem}"
                      for problem in _visible(user, page, wanted, allowed(user))]
    assert not wrong, "\n".join(wrong)


def test_flags_name_only_projects_the_auditor_may_read(app, world, per_fund):
    """The same child on YJQ's and AYX's lists: each county's auditor is told, and sees
    their own project's number only; the city's auditor sees both."""
    from tests.webapp.conftest import text

    refs = {code: str(made["ref"]) for code, made in per_fund.items()}
    clients = _signed_in(app, ["aud", "ay_aud", "city_aud"])
    cases = [("aud", "YJQ", {"YJQ"}), ("ay_aud", "AYX", {"AYX"}),
             ("city_aud", "YJQ", {"YJQ", "AYX"}), ("city_aud", "AYX", {"YJQ", "AYX"})]
    wrong = []
    for user, code, allowed in cases:
        response = clients[user].get(f"/audits/{per_fund[code]['eid']}")
        assert response.status_code == 200
        page = text(response)
        assert "重复儿童" not in page and TWIN not in page
        assert "相同的儿童" in page, f"{user} is not told of the child on two lists"
        wrong += [f"/audits/{code} as {user}: {problem}"
                  for problem in _visible(user, page, {f: refs[f] for f in ("YJQ", "AYX")},
                                          allowed)]
    assert not wrong, "\n".join(wrong)


def test_open_data_lists_what_is_public_and_nothing_private(app, per_fund):
    client = app.test_client()
    projects = client.get("/public/data/projects.csv").get_data(as_text=True)
    gifts = client.get("/public/data/donations.csv").get_data(as_text=True)
    for code in FUNDS:
        assert mark("项目", code) in projects  # approved: public, whoever asks
        assert mark("草稿", code) not in projects
        assert mark("捐赠人", code) in gifts
    assert mark("匿名捐赠人", "YJQ") not in gifts
