"""The demo: six Ziyang funds with a few years of history, users of every role in
every jurisdiction, and projects in every state.

Everything goes through the real operations, on the dates it happens (the clock is
set to each day in turn), so the projects, the books and the audit trail agree and
``ledger verify`` passes. Seeded: two runs give the same demo.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.protection import Protector
from grants import operations as ops
from grants.access import get_project
from grants.beneficiaries import add_beneficiary
from grants.models import FundPolicy, Project
from ledger.balances import available
from ledger.chart import load_chart
from ledger.demo import Action, build_demo
from ledger.models import Fund
from people.users import add_user

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the demo, documented as such
CONSOLE = Actor("demo", "console")
USER_ROLES = (
    ("ca", "civil_affairs", "民政局经办人"),
    ("co", "charity_office", "慈善办出纳"),
    ("fin1", "finance", "财政局审核员甲"),
    ("fin2", "finance", "财政局审核员乙"),
    ("aud", "auditor", "审计局审计员"),
    ("admin", "admin", "系统管理员"),
)
THRESHOLD = Decimal("100000.00")
UNITS = ("{name}民政局", "{name}教育和体育局", "{name}残疾人联合会", "{name}妇女联合会")
PAYEES = ("{name}希望小学", "{name}儿童福利院", "{name}人民医院", "{name}特殊教育学校",
          "{name}未成年人救助保护中心")
# Fictional children for the beneficiary list (names and ID numbers are invented).
CHILDREN = (("张小雨", "2014-05-12", "left_behind"), ("李晨曦", "2016-09-03", "in_difficulty"),
            ("王子涵", "2011-02-28", "orphan"), ("陈思远", "2013-11-19", "disabled"))


def username(fund: Fund, key: str) -> str:
    return f"{fund.code.lower()}_{key}"


def synthetic_id(region: str, born: dt.date, serial: int) -> str:
    """A well-formed resident ID number for invented people (GB 11643 check digit)."""
    body = f"{region}{born:%Y%m%d}{serial:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=clock.CST)


class Planner:
    """Starts projects month by month and schedules each one's later steps."""

    def __init__(self, session: Session, protector: Protector) -> None:
        self.session = session
        self.protector = protector
        self.rng = random.Random(2025)
        self.users: dict[tuple[str, str], Actor] = {}
        self.scheduled: dict[str, list[Action]] = defaultdict(list)
        self.count: dict[str, int] = defaultdict(int)

    def add_users(self, funds: list[Fund]) -> None:
        for fund in funds:
            self.session.add(FundPolicy(fund_id=fund.id, dual_approval_threshold=THRESHOLD))
            for key, role, title in USER_ROLES:
                user = add_user(self.session, CONSOLE, username=username(fund, key),
                                display_name=f"{fund.name_zh}{title}", role=role,
                                fund_code=fund.code, password=DEMO_PASSWORD)
                self.users[(fund.code, key)] = user.actor()

    def actor(self, fund: Fund, key: str) -> Actor:
        return self.users[(fund.code, key)]

    # --- the month hook -----------------------------------------------------------

    def month(self, fund: Fund, days: list[dt.date]) -> list[Action]:
        due = [a for a in self.scheduled[fund.code] if a[0] <= days[-1]]
        self.scheduled[fund.code] = [a for a in self.scheduled[fund.code] if a[0] > days[-1]]
        if days[0].month in (3, 6, 9, 11) and len(days) > 14:
            due += [(days[12], 6, partial(self.start, fund, days[12])),
                    (days[14], 6, partial(self.start, fund, days[14]))]
        return due

    def later(self, fund: Fund, day: dt.date, step: Callable[[], object]) -> None:
        self.scheduled[fund.code].append((day, 7, step))

    def run(self, day: dt.date, step: Callable[[], object]) -> None:
        with clock.frozen_at(at(day)):
            step()

    def project(self, fund: Fund, key: str, project_id: int) -> Project:
        return get_project(self.session, self.actor(fund, key), project_id)

    # --- one project's life -------------------------------------------------------

    def draft(self, fund: Fund, day: dt.date, *, share: str = "0.3",
              conditional: bool = True) -> Project | None:
        chart = load_chart(fund.chart)
        purposes = [p for p in chart.purposes
                    if available(self.session, fund, p.key) >= Decimal("20000")]
        if not purposes:
            return None
        purpose = self.rng.choice(purposes)
        room = available(self.session, fund, purpose.key)
        amount = min((room * Decimal(share)).quantize(Decimal("100")), Decimal("300000"))
        first = (amount * Decimal("0.6")).quantize(Decimal("1"))
        self.count[fund.code] += 1
        name = fund.name_zh
        data = ops.ProjectInput(
            title=f"{day.year}年{name}{purpose.zh}项目（第{self.count[fund.code]}期）",
            purpose=purpose.key, implementing_unit=self.rng.choice(UNITS).format(name=name),
            payee=self.rng.choice(PAYEES).format(name=name), requested_amount=amount,
            summary=f"面向{name}{purpose.zh}对象的年度资助项目。",
            budget=[("直接资助", amount - (amount / 10).quantize(Decimal("1"))),
                    ("项目执行与回访", (amount / 10).quantize(Decimal("1")))],
            counts={"left_behind": self.rng.randint(10, 80), "in_difficulty":
                    self.rng.randint(0, 30), "orphan": self.rng.randint(0, 5)},
            tranches=[(day + dt.timedelta(days=20), first, "none"),
                      (day + dt.timedelta(days=60), amount - first,
                       "progress_report" if conditional else "none")],
            progress_report_due=day + dt.timedelta(days=60) if conditional else None,
            final_report_due=day + dt.timedelta(days=110))
        with clock.frozen_at(at(day)):
            return ops.create_project(self.session, self.actor(fund, "ca"), data)

    def approve(self, fund: Fund, project: Project) -> None:
        ops.submit(self.session, self.actor(fund, "ca"), project)
        ops.check(self.session, self.actor(fund, "co"), project, no_conflict=True)
        amount = project.requested_amount
        if not ops.approve(self.session, self.actor(fund, "fin1"), project, amount=amount,
                           no_conflict=True):
            ops.approve(self.session, self.actor(fund, "fin2"), project, amount=amount,
                        no_conflict=True, comment="同意")

    def pay(self, fund: Fund, project: Project, seq: int, day: dt.date) -> None:
        ops.request_tranche(self.session, self.actor(fund, "ca"), project, seq)
        ops.approve_tranche(self.session, self.actor(fund, "fin1"), project, seq,
                            no_conflict=True)
        ops.pay_tranche(self.session, self.actor(fund, "co"), project, seq,
                        bank_ref=f"ZF{day:%Y%m%d}{project.id:04d}{seq}")

    def report(self, fund: Fund, project: Project, kind: str, spent: Decimal | None = None
               ) -> None:
        report = next(r for r in project.reports if r.kind == kind)
        ops.file_report(self.session, self.actor(fund, "ca"), project, report.id,
                        body="项目按计划实施，资金专款专用。" if kind == "progress"
                        else "项目已全部完成，受助儿童均已回访。", spent_amount=spent)
        ops.accept_report(self.session, self.actor(fund, "fin2"), project, report.id)

    def start(self, fund: Fund, day: dt.date) -> None:
        """A project drafted, reviewed and approved on one day; the rest scheduled."""
        project = self.draft(fund, day)
        if project is None:
            return
        fate = self.rng.random()
        with clock.frozen_at(at(day)):
            if fate < 0.07:
                ops.submit(self.session, self.actor(fund, "ca"), project)
                ops.reject(self.session, self.actor(fund, "co"), project,
                           reason="申报材料不全，不符合资助条件")
                return
            self.approve(fund, project)
        pid = project.id
        self.later(fund, day + dt.timedelta(days=20), partial(
            self.run, day + dt.timedelta(days=20),
            lambda: self.pay(fund, self.project(fund, "co", pid), 1, day)))
        if fate < 0.14:
            self.later(fund, day + dt.timedelta(days=40), partial(
                self.run, day + dt.timedelta(days=40),
                lambda: ops.cancel(self.session, self.actor(fund, "fin1"),
                                   self.project(fund, "fin1", pid), reason="学校撤并，项目终止")))
            return
        for offset, step in (
            (55, lambda: self.report(fund, self.project(fund, "ca", pid), "progress")),
            (60, lambda: self.pay(fund, self.project(fund, "co", pid), 2, day)),
            (100, lambda: self.finish(fund, self.project(fund, "ca", pid))),
            (105, lambda: self.return_and_close(fund, self.project(fund, "co", pid))),
        ):
            when = day + dt.timedelta(days=offset)
            self.later(fund, when, partial(self.run, when, step))

    def finish(self, fund: Fund, project: Project) -> None:
        unspent = (project.paid_amount * Decimal("0.04")).quantize(Decimal("0.01")) \
            if self.rng.random() < 0.3 else Decimal("0.00")
        self.report(fund, project, "final", project.paid_amount - unspent)

    def return_and_close(self, fund: Fund, project: Project) -> None:
        if ops.unspent(project) > 0:
            ops.return_unspent(self.session, self.actor(fund, "co"), project,
                               bank_ref=f"TH{clock.today():%Y%m%d}{project.id:04d}")
        ops.close(self.session, self.actor(fund, "fin2"), project)

    # --- today: one project in every state ----------------------------------------

    def every_state(self, fund: Fund) -> None:
        today = clock.today()
        s, actor = self.session, partial(self.actor, fund)
        made = {}
        for state in ("draft", "submitted", "returned", "rejected", "checked", "first_approval",
                      "approved", "partially_paid", "paid", "completed", "closed", "cancelled"):
            share = "0.9" if state == "first_approval" else "0.05"
            project = self.draft(fund, today, share=share, conditional=False)
            if project is None:
                continue
            made[state] = project
            if state == "draft":
                continue
            ops.submit(s, actor("ca"), project)
            if state == "returned":
                ops.return_for_revision(s, actor("co"), project, "请补充受助儿童名单和预算依据")
            elif state == "rejected":
                ops.reject(s, actor("co"), project, "重复申报")
            elif state != "submitted":
                ops.check(s, actor("co"), project, no_conflict=True)
                if state == "first_approval":
                    ops.approve(s, actor("fin1"), project, amount=project.requested_amount,
                                no_conflict=True)
                elif state != "checked":
                    self.approve_and_run(fund, project, state, today)
        self.children(fund, made)

    def approve_and_run(self, fund: Fund, project: Project, state: str, today: dt.date) -> None:
        ops.approve(self.session, self.actor(fund, "fin1"), project,
                    amount=project.requested_amount, no_conflict=True)
        if state == "cancelled":
            ops.cancel(self.session, self.actor(fund, "fin2"), project, "实施单位无法履约")
            return
        if state == "approved":
            return
        self.pay(fund, project, 1, today)
        if state == "partially_paid":
            return
        self.pay(fund, project, 2, today)
        if state in ("completed", "closed"):
            self.report(fund, project, "final", project.paid_amount)
        if state == "closed":
            ops.close(self.session, self.actor(fund, "fin2"), project)

    def children(self, fund: Fund, made: dict[str, Project]) -> None:
        """A beneficiary list on two projects of the county; one child appears in both,
        which the system flags when they share a need."""
        region = {"YJQ": "512002", "AYX": "512021", "LZX": "512022"}.get(fund.code)
        first, second = made.get("draft"), made.get("submitted")
        if region is None or first is None:
            return
        for n, (name, born, category) in enumerate(CHILDREN, start=1):
            number = synthetic_id(region, dt.date.fromisoformat(born), n)
            add_beneficiary(self.session, self.actor(fund, "ca"), self.protector, first,
                            name=name, id_number=number, category=category,
                            guardian=name[0] + "监护人", guardian_consent=True)
        if second is not None and second.purpose == first.purpose:
            name, born, category = CHILDREN[0]
            add_beneficiary(self.session, self.actor(fund, "ca"), self.protector, second,
                            name=name, id_number=synthetic_id(region, dt.date.fromisoformat(born),
                                                              1),
                            category=category, guardian=name[0] + "监护人",
                            guardian_consent=True)


def build(session: Session, protector: Protector, *, years: int = 3,
          commit: Callable[[], None] | None = None) -> list[Fund]:
    planner = Planner(session, protector)
    funds = build_demo(session, years=years, commit=commit, after_funds=planner.add_users,
                       month_hook=planner.month)
    for fund in funds:
        planner.every_state(fund)
        if commit:
            commit()
    return funds
