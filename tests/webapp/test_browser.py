"""One project from draft to close in a real browser, in both languages.

The app runs with CSRF protection on, served by a real HTTP server on a free local
port; Debian's Chromium (``make system`` installs it) is driven by Playwright. Each
user works in a browser context of their own, as on their own computer, and reads
the states and messages in the page's language from the same catalog the app uses.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from audit import verify_chain
from core.i18n import gettext, locale_as
from core.money import format_cny
from grants.states import STATE_LABELS, STEPS, TRANCHE_STATE_LABELS, State
from ledger.balances import available
from ledger.journal import find_fund
from ledger.verify import verify_fund
from tests.worlds import PASSWORD
from webapp import create_app
from webapp.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000  # a broken page fails fast instead of hanging

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(database_url, instance_folder, world) -> Iterator[str]:
    """The app on this test's database, CSRF on, served from a thread; yields its base URL."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                      "ATTACHMENTS_DIR": str(instance_folder / "attachments")})
    assert app.config.get("WTF_CSRF_ENABLED", True) is not False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        db.dispose_all()


def tr(lang: str, message: str, **params: object) -> str:
    """A message as the page shows it in this language, from the app's own catalog."""
    with locale_as(lang):
        return gettext(message, **params)


def state(lang: str, value: State) -> str:
    return tr(lang, STATE_LABELS[value])


class User:
    """One person at their own browser: signs in, takes steps, checks what the page says."""

    def __init__(self, page: Page, base: str, lang: str) -> None:
        self.page, self.base, self.lang = page, base, lang

    def open(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None
        self._ok(response.status, f"GET {path}")

    def submit(self, button: Locator, what: str) -> None:
        """Click a submit button and wait for the page the POST (and its redirect) lands on."""
        with self.page.expect_navigation() as navigation:
            button.click()
        self._ok(navigation.value.status, what)

    def step(self, name: str, scope: Locator | None = None, *, says: str | None = None) -> None:
        """Take a workflow step with its button and check the page says it was done."""
        self.submit((scope or self.page).locator(f'button[data-step="{name}"]'), f"step {name}")
        done = says or tr(self.lang, "Done: {step}.", step=tr(self.lang, STEPS[name].label))
        expect(self.page.locator("p.flash.success")).to_have_text(done)

    def declare(self, scope: Locator | None = None) -> None:
        (scope or self.page).locator("input[name=no_conflict]").check()

    def expect_state(self, value: State) -> None:
        expect(self.page.locator("#state")).to_have_text(state(self.lang, value))

    def _ok(self, status: int, what: str) -> None:
        if status >= 400:
            body = self.page.locator("main").inner_text()
            pytest.fail(f"{what} as the page at {self.page.url} answered {status}: {body}")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_project_from_draft_to_close_in_the_browser(
        lang, browser, live_server, world, tmp_path):
    @contextmanager
    def signed_in(username: str) -> Iterator[User]:
        # A Chinese browser in both runs: English comes from the switch, not the browser.
        context = browser.new_context(locale="zh-CN")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            user = User(page, live_server, lang)
            user.open("/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            user.submit(page.locator("form button[type=submit].primary"), f"sign in {username}")
            assert not page.url.rstrip("/").endswith("/login"), page.locator("main").inner_text()
            if lang == "en":
                user.submit(page.locator("#switch-language"), "switch to English")
                expect(page.locator("#switch-language")).to_have_text("中文")
            expect(page.locator("html")).to_have_attribute(
                "lang", "en" if lang == "en" else "zh-CN")
            yield user
        except BaseException:
            # What the user saw when it went wrong, beside the test's other files.
            with suppress(PlaywrightError):
                page.screenshot(path=str(tmp_path / f"failed-{lang}-{username}.png"),
                                full_page=True)
            raise
        finally:
            context.close()

    # 1. Civil affairs drafts the project in the form and submits it.
    with signed_in("ca") as ca:
        ca.open("/projects/new")
        page = ca.page
        page.fill("input[name=title]", "雁江区留守儿童助学（浏览器）")
        page.select_option("select[name=purpose]", "Education")
        page.fill("input[name=implementing_unit]", "雁江区民政局")
        page.fill("input[name=payee]", "雁江区希望小学")
        page.fill("input[name=requested_amount]", "150000")
        page.fill("input[name='budget-0-item']", "助学金")
        page.fill("input[name='budget-0-amount']", "150000")
        page.fill("input[name=count_left_behind]", "150")
        page.fill("input[name='tranches-0-planned_date']", "2026-07-20")
        page.fill("input[name='tranches-0-amount']", "150000")
        page.select_option("select[name='tranches-0-condition']", "none")
        page.fill("input[name=final_report_due]", "2026-12-31")
        ca.submit(page.locator("#project-form button[type=submit]"), "save the draft")
        match = re.search(r"/projects/(\d+)$", page.url)
        assert match, f"saving the draft led to {page.url}: {page.locator('main').inner_text()}"
        project = f"/projects/{match.group(1)}"
        ca.expect_state(State.DRAFT)
        expect(page.locator("#state")).to_have_class(re.compile(r"\bstate-draft\b"))
        ca.step("submit")
        ca.expect_state(State.SUBMITTED)

    # 2. The charity office checks it, declaring no conflict of interest.
    with signed_in("co") as co:
        co.open(project)
        co.declare(co.page.locator("form.step-check"))
        co.step("check")
        co.expect_state(State.CHECKED)

    # 3. Above the threshold two different finance users approve.
    with signed_in("fin1") as fin1:
        fin1.open(project)
        form = fin1.page.locator("form.step-approve")
        expect(form.locator("input[name=amount]")).to_have_value("150000.00")
        fin1.declare(form)
        fin1.step("approve", says=tr(lang, "First approval recorded; a second, different "
                                           "finance approver must approve the same amount."))
        fin1.expect_state(State.CHECKED)
        expect(fin1.page.locator("form.step-approve")).to_have_count(0)  # not twice
        expect(fin1.page.locator("#timeline")).to_contain_text(tr(lang, "First of two approvals"))
        awaiting = tr(lang, "First approval given for {amount}; a second, different finance "
                            "approver completes it.", amount="¥150,000.00")
    with signed_in("fin2") as fin2:
        fin2.open(project)
        expect(fin2.page.locator("form.step-approve p.note")).to_have_text(awaiting)
        fin2.declare(fin2.page.locator("form.step-approve"))
        fin2.step("approve")
        fin2.expect_state(State.APPROVED)
        expect(fin2.page.locator("#approved-amount")).to_have_text("¥150,000.00")

    # 4. The tranche: requested, approved for payment, paid.
    def tranche_state(user: User, key: str) -> None:
        expect(user.page.locator('tr[data-tranche="1"] td').nth(4)).to_have_text(
            tr(lang, TRANCHE_STATE_LABELS[key]))

    with signed_in("ca") as ca:
        ca.open(project)
        ca.step("request_tranche", ca.page.locator('tr[data-tranche="1"]'))
        tranche_state(ca, "requested")
    with signed_in("fin1") as fin1:
        fin1.open(project)
        row = fin1.page.locator('tr[data-tranche="1"]')
        fin1.declare(row)
        fin1.step("approve_tranche", row)
        tranche_state(fin1, "approved")
    with signed_in("co") as co:
        co.open(project)
        row = co.page.locator('tr[data-tranche="1"]')
        row.locator("input[name=bank_ref]").fill("ICBC-20260701-0001")
        co.step("pay_tranche", row)
        tranche_state(co, "paid")
        expect(row.locator("td").nth(5)).to_have_text("ICBC-20260701-0001")
        co.expect_state(State.PAID)
        expect(co.page.locator("#paid-amount")).to_have_text("¥150,000.00")

    # 5. Civil affairs files the final report.
    with signed_in("ca") as ca:
        ca.open(project)
        row = ca.page.locator('tr[data-report="final"]')
        row.locator("textarea[name=body]").fill("150名留守儿童已领取助学金。")
        row.locator("input[name=spent_amount]").fill("150000")
        ca.step("file_report", row)
        expect(row).to_contain_text(tr(lang, "Filed"))
        expect(row).to_contain_text(tr(lang, "Spent: {amount}", amount="¥150,000.00"))

    # 6. Finance accepts it, which completes the project, and another finance user closes it.
    with signed_in("fin2") as fin2:
        fin2.open(project)
        row = fin2.page.locator('tr[data-report="final"]')
        fin2.step("accept_report", row)
        expect(row).to_contain_text(tr(lang, "Accepted"))
        fin2.expect_state(State.COMPLETED)
    with signed_in("fin1") as fin1:
        fin1.open(project)
        fin1.step("close")
        fin1.expect_state(State.CLOSED)
        expect(fin1.page.locator("button[data-step]")).to_have_count(0)

        # 7. The fund page: what the project spent has left the education purpose.
        fin1.open("/funds/YJQ")
        expect(fin1.page.locator("h1")).to_contain_text(
            "Test fund YJQ" if lang == "en" else "测试基金YJQ")
        education = fin1.page.locator('#purposes tr[data-purpose="Education"]')
        expect(education.locator("td").nth(0)).to_have_text(
            "Education aid" if lang == "en" else "助学")
        expect(education.locator("td.available")).to_have_text("¥350,000.00")
        expect(education.locator("td").nth(2)).to_have_text("¥0.00")  # nothing left committed
        expect(education.locator("td").nth(4)).to_have_text("¥150,000.00")
        expect(fin1.page.locator("ul.counts")).to_contain_text(
            f"{state(lang, State.CLOSED)}: 1")
        fin1.page.screenshot(path=str(tmp_path / f"fund-{lang}.png"), full_page=True)

    with world.factory() as session:
        report = verify_fund(session, find_fund(session, "YJQ"))
        assert report.problems == []
        chain = verify_chain(session)
        assert chain.ok, chain.problem


def test_an_audit_published_in_the_browser_appears_on_the_public_site(
        browser, live_server, world, approved, tmp_path):
    """The auditor publishes a result; a visitor who never signs in finds it, and the
    fund's figures, by following the public site's links, in Chinese then in English."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    aud = User(context.new_page(), live_server, "zh_CN")
    try:
        aud.open("/login")
        aud.page.fill("input[name=username]", "aud")
        aud.page.fill("input[name=password]", PASSWORD)
        aud.submit(aud.page.locator("form button[type=submit].primary"), "sign in aud")
        aud.open("/audits/")
        form = aud.page.locator("#open-form")
        form.locator("select[name=fund]").select_option("YJQ")
        form.locator("input[name=title]").fill("2026年度雁江区专项审计")
        form.locator("input[name=period]").fill("2026")
        aud.submit(form.locator("button[type=submit]"), "open the engagement")
        form = aud.page.locator("#finding-form")
        form.locator("select[name=severity]").select_option("low")
        form.locator("input[name=title]").fill("拨付凭证归档不及时")
        form.locator("textarea[name=description]").fill("两笔拨付的银行回单晚于月末归档。")
        aud.submit(form.locator("button[type=submit]"), "record the finding")
        form = aud.page.locator("#publish-form")
        form.locator("textarea[name=conclusion]").fill("资金使用总体规范，未发现挪用。")
        aud.submit(form.locator("button[type=submit]"), "publish")
    finally:
        context.close()

    context = browser.new_context(locale="zh-CN")  # a visitor: no sign-in
    context.set_default_timeout(TIMEOUT_MS)
    visitor = User(context.new_page(), live_server, "zh_CN")
    page = visitor.page
    try:
        visitor.open("/public/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        with page.expect_navigation():
            page.locator('tr[data-fund="YJQ"] a').click()
        audit = page.locator("#audits article")
        expect(audit).to_contain_text("2026年度雁江区专项审计")
        expect(audit).to_contain_text("资金使用总体规范，未发现挪用。")
        expect(audit.locator("li[data-finding]")).to_contain_text("拨付凭证归档不及时")
        with world.factory() as session:
            fund = find_fund(session, "YJQ")
            for purpose in ("Education", "Medical"):
                cell = page.locator(f'#balances tr[data-purpose="{purpose}"] '
                                    'td[data-field="available"]')
                expect(cell).to_have_text(format_cny(available(session, fund, purpose)))
        with world.reading(approved) as project:
            ref = project.ref
        expect(page.locator(f'#projects tr[data-ref="{ref}"]')).to_be_visible()
        expect(page.locator("#chart-income")).to_be_visible()
        visitor.submit(page.locator("#switch-language"), "switch to English")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#audits h2")).to_have_text("Audit results")
        assert context.cookies() == []  # the public site, in both languages, sets no cookie
        page.screenshot(path=str(tmp_path / "public-fund-en.png"), full_page=True)
    except BaseException:
        with suppress(PlaywrightError):
            page.screenshot(path=str(tmp_path / "failed-public.png"), full_page=True)
        raise
    finally:
        context.close()
