"""The annual work and financial report (年度工作报告和财务会计报告) of a fund, and the
city's consolidated report over its counties.

Finance writes the narrative sections; every figure comes from the ledger through
``reports.figures``. Publishing freezes the report: the PDF's digest and the ledger
and audit heads it was made from are recorded, later edits are refused, and a fact
found wrong afterwards is corrected by a published correction notice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import N_
from core.money import ZERO, format_cny
from core.reading import clean_text
from core.screening import strip_invisible
from grants.models import BeneficiaryCount, Project
from grants.screening import screen_public_text
from grants.states import State
from ledger.journal import find_fund
from ledger.models import Fund
from reports.charts import bar_chart, hbar_chart
from reports.figures import SOURCE_LABELS, FundFigures, Period, fund_figures
from reports.models import (
    AnnualEdition,
    AnnualReport,
    Correction,
    Engagement,
    Withdrawal,
    withdrawn_targets,
)
from reports.pdf import ASSETS, assets_url, render_pdf

SECTIONS = {
    "overview": N_("Overview"),
    "work": N_("The year's work"),
    "finance": N_("Notes on the accounts"),
    "plans": N_("Plans for next year"),
}
WITHDRAWN_SECTION = "本节内容已撤回，不再公开（见本报告所附更正公告）。"
LIVE = [s.value for s in (State.APPROVED, State.PARTIALLY_PAID, State.PAID, State.COMPLETED,
                          State.CLOSED, State.CANCELLED)]

_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(ASSETS), autoescape=True,
                                undefined=jinja2.StrictUndefined, trim_blocks=True,
                                lstrip_blocks=True)


def _finance_of(actor: Actor, fund: Fund) -> None:
    if actor.role not in ("finance", "console") or (actor.role == "finance"
                                                    and actor.fund != fund.code):
        raise PermissionDenied("Only finance users of {fund} prepare its annual report.",
                               fund=fund.name)


def report_for(session: Session, actor: Actor, fund_code: str, year: int, *,
               create: bool = False) -> AnnualReport:
    # Starting a report looks for it under the fund's lock, so two finance users starting
    # the same year at once make one report, not two.
    fund = find_fund(session, fund_code, lock=create)
    report = session.execute(select(AnnualReport).where(
        AnnualReport.fund_id == fund.id, AnnualReport.year == year)).scalar_one_or_none()
    if report is None:
        if not create:
            raise NotFound("Fund {fund} has no annual report for {year}.", fund=fund.code,
                           year=year)
        _finance_of(actor, fund)
        if not 2000 <= year < clock.today().year:
            raise InvalidInput("An annual report covers a finished year.")
        report = AnnualReport(fund_id=fund.id, fund=fund, year=year,
                              consolidated=fund.level == "city", narrative={}, state="draft")
        session.add(report)
        session.flush()
    return report


def _narrative_fields(narrative: dict[str, str]) -> list[tuple[str, str | None]]:
    return [(SECTIONS[key], narrative.get(key)) for key in SECTIONS]


def save_narrative(session: Session, actor: Actor, report: AnnualReport,
                   sections: dict[str, str]) -> None:
    _finance_of(actor, report.fund)
    if report.state == "published":
        raise Conflict("The report is published; correct it with a correction notice.")
    narrative = dict(report.narrative)
    for key in SECTIONS:
        if key in sections:
            narrative[key] = strip_invisible(sections[key] or "").strip()[:20000]
    screen_public_text(session, [report.fund], _narrative_fields(narrative))
    report.narrative = narrative
    audit.record(session, actor, "annual-report.edit", "annual-report",
                 f"{report.fund.code}:{report.year}", after={"sections": sorted(narrative)},
                 fund=report.fund.code)
    session.flush()


@dataclass
class CountyLine:
    fund: Fund
    figures: FundFigures


def _projects_summary(session: Session, fund_ids: list[int], period: Period) -> dict[str, object]:
    approved = session.execute(
        select(func.count(Project.id), func.coalesce(func.sum(Project.approved_amount), 0))
        .where(Project.fund_id.in_(fund_ids), Project.state.in_(LIVE),
               Project.year == period.start.year)).one()
    children = session.execute(
        select(func.coalesce(func.sum(BeneficiaryCount.count), 0))
        .join(Project, Project.id == BeneficiaryCount.project_id)
        .where(Project.fund_id.in_(fund_ids), Project.state.in_(LIVE),
               Project.year == period.start.year)).scalar_one()
    amount = approved[1]
    return {"count": approved[0], "amount": amount if amount else ZERO, "children": children}


def annual_charts(lines: list[CountyLine], *, consolidated: bool) -> list[tuple[str, str]]:
    """Income by source, spending by purpose, and for the city, money by county."""
    first = lines[0].figures
    sources = list(SOURCE_LABELS)
    income = [(SOURCE_LABELS[s].zh, [sum((line.figures.income[s] for line in lines), ZERO)])
              for s in sources]
    purposes = [p for p in first.purposes if p.key != "General"]
    charts = [
        ("income", bar_chart("收入来源", [f"{first.period.label}年"], income,
                             chart_id="income")),
        ("spending", hbar_chart("各用途项目拨付", [p.label.zh for p in purposes], [
            ("项目拨付", [sum((next(q for q in line.figures.purposes if q.key == p.key).paid
                              for line in lines), ZERO) for p in purposes])],
            chart_id="spending")),
    ]
    if consolidated:
        charts.append(("counties", hbar_chart(
            "各基金收入与拨付", [line.fund.name_zh for line in lines],
            [("收入", [sum(line.figures.income.values(), ZERO) for line in lines]),
             ("项目拨付", [line.figures.total.paid for line in lines])], chart_id="counties")))
    return charts


def _audit_head(session: Session, fund: Fund) -> str | None:
    """The hash at the head of the fund's own audit chain, or None while it is empty."""
    head = audit.head(session, fund.code)
    return head.hash if head.seq else None


def annual_html(session: Session, report: AnnualReport) -> str:
    fund, period = report.fund, Period.year(report.year)
    funds = [fund]
    if report.consolidated:
        funds += list(session.execute(select(Fund).where(Fund.parent_id == fund.id)
                                      .order_by(Fund.id)).scalars())
    lines = [CountyLine(f, fund_figures(session, f, period)) for f in funds]
    # What was withdrawn from public view (reports.withdrawals) is not printed.
    published = session.execute(select(Engagement).where(
        Engagement.fund_id.in_([f.id for f in funds]), Engagement.state == "published",
        Engagement.period_start <= period.end, Engagement.period_end >= period.start)
    ).unique().scalars().all()
    gone = set(session.execute(withdrawn_targets("engagement")).scalars())
    engagements = [e for e in published if e.id not in gone]
    # The report's own corrections, and the notices withdrawing audit results it printed.
    corrections = session.execute(select(Correction).where(
        Correction.fund_id.in_([f.id for f in funds]),
        or_(Correction.subject == f"annual-report:{report.year}",
            Correction.id.in_(select(Withdrawal.correction_id).where(
                Withdrawal.kind == "engagement", Withdrawal.state == "confirmed",
                Withdrawal.target_id.in_([e.id for e in published])))),
        Correction.id.not_in(withdrawn_targets("correction")))
        .order_by(Correction.id)).scalars().all()
    narrative = report.narrative
    if report.id is not None and session.execute(withdrawn_targets("annual-report").where(
            Withdrawal.target_id == report.id)).first():
        narrative = dict.fromkeys(SECTIONS, WITHDRAWN_SECTION)
    head = _audit_head(session, fund)
    return _templates.get_template("annual.html").render(
        report=report, fund=fund, period=period, lines=lines,
        narrative=narrative, engagements=engagements, corrections=corrections,
        projects=_projects_summary(session, [f.id for f in funds], period),
        source_labels=SOURCE_LABELS, money=format_cny,
        charts=annual_charts(lines, consolidated=report.consolidated),
        generated=clock.now().strftime("%Y-%m-%d %H:%M"),
        audit_head=head or "—")


def annual_pdf(session: Session, report: AnnualReport) -> bytes:
    title = f"{report.fund.name_zh}儿童专项基金{report.year}年度工作和财务报告"
    return render_pdf(annual_html(session, report), base_url=assets_url(), title=title)


def edition_path(folder: Path, report: AnnualReport, edition: int | None = None) -> Path:
    """Where a published edition's PDF is kept: the first as published, later ones
    (corrected editions, see ``reissue``) beside it with their number."""
    number = report.edition if edition is None else edition
    suffix = "" if number == 1 else f"-e{number}"
    return folder / f"annual-{report.fund.code}-{report.year}{suffix}.pdf"


def _lock(session: Session, report: AnnualReport) -> None:
    """Hold the report's row and read it afresh: two publications or two corrected
    editions at the same moment take turns, and the second sees what the first did."""
    session.execute(select(AnnualReport).where(AnnualReport.id == report.id)
                    .with_for_update().execution_options(populate_existing=True))


def reissue(session: Session, actor: Actor, report: AnnualReport, *, withdrawal_id: int,
            folder: Path) -> bytes:
    """Replace a published report by a corrected edition, made now without what was
    withdrawn; the replaced edition's file stays, for auditors only (``AnnualEdition``)."""
    _lock(session, report)
    if report.state != "published" or report.pdf_sha256 is None:
        raise Conflict("Only a published report is replaced by a corrected edition.")
    session.add(AnnualEdition(report_id=report.id, edition=report.edition,
                              pdf_sha256=report.pdf_sha256, ledger_head=report.ledger_head,
                              audit_head=report.audit_head, replaced_at=clock.now(),
                              withdrawal_id=withdrawal_id))
    before = {"edition": report.edition, "sha256": report.pdf_sha256}
    report.edition += 1
    session.flush()
    pdf = annual_pdf(session, report)
    report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    report.ledger_head, report.audit_head = (report.fund.last_entry_hash,
                                             _audit_head(session, report.fund))
    path = edition_path(folder, report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)  # a new name: the replaced edition's file is never overwritten
    audit.record(session, actor, "annual-report.reissue", "annual-report",
                 f"{report.fund.code}:{report.year}", before=before,
                 after={"edition": report.edition, "sha256": report.pdf_sha256,
                        "withdrawal": withdrawal_id}, fund=report.fund.code)
    session.flush()
    return pdf


def publish(session: Session, actor: Actor, report: AnnualReport) -> bytes:
    """Freeze the report; returns the published PDF."""
    _finance_of(actor, report.fund)
    _lock(session, report)
    if report.state == "published":
        raise Conflict("The report is already published.")
    missing = [key for key in SECTIONS if not report.narrative.get(key)]
    if missing:
        raise InvalidInput("Write every section before publishing (missing: {missing}).",
                           missing=", ".join(missing))
    # Screened again: it becomes public now, and a child may have been listed since.
    screen_public_text(session, [report.fund], _narrative_fields(report.narrative))
    pdf = annual_pdf(session, report)
    report.state, report.published_by, report.published_at = "published", actor.name, clock.now()
    report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    report.ledger_head, report.audit_head = (report.fund.last_entry_hash,
                                             _audit_head(session, report.fund))
    audit.record(session, actor, "annual-report.publish", "annual-report",
                 f"{report.fund.code}:{report.year}", after={"sha256": report.pdf_sha256},
                 fund=report.fund.code)
    session.flush()
    return pdf


def publish_correction(session: Session, actor: Actor, fund_code: str, *, subject: str,
                       title: str, text: str) -> Correction:
    """A published correction notice: how a published fact is corrected (never in place)."""
    fund = find_fund(session, fund_code)
    if actor.role not in ("finance", "auditor", "console") or (
            actor.role != "console" and actor.fund != fund.code):
        raise PermissionDenied("Only finance or auditors of {fund} publish corrections.",
                               fund=fund.name)
    notice = Correction(
        fund_id=fund.id, fund=fund,
        subject=clean_text(subject, "Subject", required=True, limit=80) or "",
        title=clean_text(title, "Title", required=True, limit=200) or "",
        text=strip_invisible(text or "").strip()[:5000] or "", published_by=actor.name,
        published_at=clock.now())
    if not notice.text:
        raise InvalidInput("{field} is required.", field="更正内容")
    screen_public_text(session, [fund], [(N_("Subject"), notice.subject),
                                         (N_("Title"), notice.title), (N_("Text"), notice.text)])
    session.add(notice)
    session.flush()
    audit.record(session, actor, "correction.publish", "fund", fund.code,
                 after={"subject": notice.subject, "title": notice.title}, fund=fund.code)
    return notice
