"""Audit engagements: the audit bureau opens one on a fund and a period, draws a
reproducible sample of the projects, records findings, the audited unit answers
them, and the bureau publishes the results for public supervision (DESIGN §4).

Who may do what:

- auditors open engagements and work on them in the funds they may read: their own
  jurisdiction's, and for the city's audit bureau the counties below it as well;
- the audited fund's own finance, charity office and civil affairs users read its
  engagements and answer the findings;
- nobody else sees an engagement before it is published (it does not exist for
  them: NotFound); administrators never see one.

Operations take the session and the acting user, check role and jurisdiction,
change the rows, append the audit trail and flush; the caller commits. A published
engagement and its findings are read-only (Conflict): a published fact is
corrected by a published correction notice, never edited.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.i18n import N_, Bilingual, gettext
from core.reading import clean_text
from core.screening import strip_invisible
from grants.access import can_read_fund, require_fund, visible_fund_ids
from grants.models import Project
from grants.screening import screen_public_text
from ledger.income_models import Receipt
from ledger.journal import find_entry, find_fund
from ledger.models import Fund
from reports.flags import Flag, Period, active_projects, flags, parse_period
from reports.models import Engagement, Finding, withdrawn_targets

# The audited unit: who reads a fund's engagements and answers the findings.
UNIT_ROLES = frozenset({"finance", "charity_office", "civil_affairs"})
SEVERITIES = ("low", "medium", "high")
SEVERITY_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}
STATE_LABELS = {"open": N_("Under way"), "published": N_("Published")}

MAX_SAMPLE = 1000
MAX_SEED = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL
MAX_LINKS = 50
LONG_TEXT = 20000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # newlines and tabs are allowed


# --- who may see and do what ---------------------------------------------------------

def can_read(actor: Actor, engagement: Engagement) -> bool:
    if actor.role == "auditor":
        return can_read_fund(actor, engagement.fund)
    return actor.role in UNIT_ROLES and engagement.fund.code == actor.fund


def can_audit(actor: Actor, engagement: Engagement) -> bool:
    """Whether this user works on the engagement (samples, findings, publication)."""
    return (actor.role == "auditor" and engagement.state == "open"
            and can_read_fund(actor, engagement.fund))


def can_respond(actor: Actor, engagement: Engagement) -> bool:
    return (actor.role in UNIT_ROLES and engagement.state == "open"
            and engagement.fund.code == actor.fund)


def _auditor(actor: Actor) -> None:
    if actor.role != "auditor":
        raise PermissionDenied("Only audit bureau users do this.")


def get_engagement(session: Session, actor: Actor, engagement_id: int, *,
                   for_update: bool = False) -> Engagement:
    """The engagement, if this user may read it (NotFound otherwise)."""
    stmt = select(Engagement).where(Engagement.id == engagement_id)
    if for_update:
        stmt = stmt.with_for_update(of=Engagement)
    engagement = session.execute(stmt).unique().scalar_one_or_none()
    if engagement is None or not can_read(actor, engagement):
        raise NotFound("There is no audit engagement {id}.", id=engagement_id)
    return engagement


def engagements_in_scope(session: Session, actor: Actor) -> list[Engagement]:
    """The engagements this user may read, newest first."""
    if actor.role == "auditor":
        fund_ids = visible_fund_ids(session, actor)
    elif actor.role in UNIT_ROLES:
        fund_ids = list(session.execute(
            select(Fund.id).where(Fund.code == actor.fund)).scalars())
    else:
        raise PermissionDenied("Only audit bureau users and the audited units see audit "
                               "engagements.")
    return list(session.execute(
        select(Engagement).where(Engagement.fund_id.in_(fund_ids))
        .options(selectinload(Engagement.findings))
        .order_by(Engagement.opened_at.desc(), Engagement.id.desc())).unique().scalars())


def _open(engagement: Engagement) -> None:
    if engagement.state != "open":
        raise Conflict("Audit engagement {id} has been published; it and its findings can "
                       "no longer be changed.", id=engagement.id)


def _long_text(value: str | None, field: str, *, required: bool = False,
               limit: int = LONG_TEXT) -> str:
    """Text of several lines: control characters other than line breaks refused."""
    text = strip_invisible(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        if required:
            raise InvalidInput("{field} is required.", field=gettext(field))
        return ""
    if _CONTROL.search(text):
        raise InvalidInput("{field} contains characters that are not text.",
                           field=gettext(field))
    if len(text) > limit:
        raise InvalidInput("{field} is longer than {limit} characters.", field=gettext(field),
                           limit=limit)
    return text


# --- the engagement ------------------------------------------------------------------

def open_engagement(session: Session, actor: Actor, fund_code: str, *, title: str,
                    period: str, scope: str = "") -> Engagement:
    """An auditor opens an engagement on a fund they may read, over a year ("2025") or a
    month ("2025-03") that has begun."""
    _auditor(actor)
    fund = require_fund(actor, find_fund(session, fund_code or ""))
    when = parse_period(period)
    if when.start > clock.today():
        raise InvalidInput("The period {period} has not begun.", period=when.label)
    name = clean_text(title, "Title", required=True, limit=200) or ""
    text = _long_text(scope, N_("Scope"), limit=5000)
    screen_public_text(session, [fund], [(N_("Title"), name), (N_("Scope"), text)])
    engagement = Engagement(
        fund_id=fund.id, fund=fund, title=name, period=when.label, period_start=when.start,
        period_end=when.end, scope=text, state="open",
        sample=[], opened_by=actor.name, opened_at=clock.now())
    session.add(engagement)
    session.flush()
    audit.record(session, actor, "engagement.open", "engagement", engagement.id,
                 after={"fund": fund.code, "title": name, "period": when.label,
                        "scope": engagement.scope}, fund=fund.code)
    return engagement


def period_of(engagement: Engagement) -> Period:
    return Period(engagement.period, engagement.period_start, engagement.period_end)


def population(session: Session, engagement: Engagement) -> list[str]:
    """The numbers of the projects a sample is drawn from, sorted: the fund's projects
    approved by the period's end with a step or a payment inside the period."""
    return [p.ref for p in active_projects(session, engagement.fund, period_of(engagement))]


def draw(refs: list[str], *, size: int, seed: int) -> list[str]:
    """The sample of ``size`` numbers from ``refs`` that ``seed`` draws, sorted.

    ``random.Random(seed)`` over the numbers sorted: the same numbers, size and seed
    always draw the same sample, on any machine, so anyone can check it.
    """
    # Reproducibility is the point here; nothing secret is derived from it.
    rng = random.Random(seed)  # noqa: S311
    return sorted(rng.sample(sorted(refs), min(size, len(refs))))


def _whole_number(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput("{field} must be a whole number from {low} to {high}.",
                           field=gettext(field), low=low, high=high)
    return value


def draw_sample(session: Session, actor: Actor, engagement_id: int, *, size: int,
                seed: int) -> list[str]:
    """Draw the engagement's sample of projects and keep it with its seed and size.

    The population is the fund's projects active in the period (approved or later,
    with activity in the period), sorted by number; ``random.Random(seed)`` picks
    ``size`` of them (all of them when there are fewer). Drawing again with the same
    seed gives the same project numbers -- so anyone holding the seed can verify the
    sample -- unless the population itself changed. Drawing again while the
    engagement is open replaces the sample; every draw is in the audit trail, so a
    redraw cannot pass unseen.
    """
    _auditor(actor)
    engagement = get_engagement(session, actor, engagement_id, for_update=True)
    _open(engagement)
    count = _whole_number(size, N_("Sample size"), 1, MAX_SAMPLE)
    seed_value = _whole_number(seed, N_("Seed"), 0, MAX_SEED)
    refs = population(session, engagement)
    if not refs:
        raise InvalidInput("No project of {fund} was active in {period}; there is nothing to "
                           "sample.", fund=engagement.fund.name, period=engagement.period)
    before = {"seed": engagement.sample_seed, "size": engagement.sample_size,
              "sample": list(engagement.sample or [])}
    chosen = draw(refs, size=count, seed=seed_value)
    engagement.sample_seed, engagement.sample_size, engagement.sample = (
        seed_value, count, chosen)
    session.flush()
    audit.record(session, actor, "engagement.sample", "engagement", engagement.id,
                 before=before, after={"seed": seed_value, "size": count,
                                       "population": len(refs), "sample": chosen},
                 fund=engagement.fund.code)
    return chosen


def engagement_flags(session: Session, actor: Actor, engagement_id: int) -> list[Flag]:
    """The flags of the engagement's fund and period: an auditor's starting points."""
    _auditor(actor)
    engagement = get_engagement(session, actor, engagement_id)
    return flags(session, engagement.fund, period_of(engagement),
                 readable=visible_fund_ids(session, actor))


# --- findings ------------------------------------------------------------------------

_LINK = re.compile(r"^(project|entry|receipt):(\S{1,60})$")


def _check_link(session: Session, actor: Actor, link: str) -> str:
    """The link, if it names a project, ledger entry or receipt the user may read."""
    match = _LINK.match(link)
    if not match:
        raise InvalidInput("“{link}” is not a link: write project:YJQ-2026-003, entry:YJQ#120 "
                           "or receipt:YJQ-2026-000005.", link=link[:80])
    kind, key = match.groups()
    fund: Fund | None = None
    if kind == "project":
        fund = session.execute(select(Fund).join(Project, Project.fund_id == Fund.id)
                               .where(Project.ref == key)).scalar_one_or_none()
    elif kind == "receipt":
        fund = session.execute(select(Fund).join(Receipt, Receipt.fund_id == Fund.id)
                               .where(Receipt.code == key)).scalar_one_or_none()
    else:
        code, _, seq = key.partition("#")
        candidate = session.execute(select(Fund).where(
            Fund.code == code.upper())).scalar_one_or_none()
        if candidate is not None and seq.isdigit():
            try:
                find_entry(session, candidate, int(seq))
            except NotFound:
                candidate = None
            fund = candidate
        link = f"entry:{code.upper()}#{seq}"
    if fund is None or not can_read_fund(actor, fund):
        raise InvalidInput("{link} names nothing you can see.", link=link)
    return link


def _links(session: Session, actor: Actor, links: Iterable[str] | str | None) -> list[str]:
    if isinstance(links, str):
        links = re.split(r"[\s,，;；]+", links)
    cleaned: list[str] = []
    for raw in links or ():
        link = str(raw).strip()
        if not link:
            continue
        link = _check_link(session, actor, link)
        if link not in cleaned:
            cleaned.append(link)
    if len(cleaned) > MAX_LINKS:
        raise InvalidInput("A finding links at most {limit} records.", limit=MAX_LINKS)
    return cleaned


def record_finding(session: Session, actor: Actor, engagement_id: int, *, severity: str,
                   title: str, description: str,
                   links: Iterable[str] | str | None = ()) -> Finding:
    """An auditor records a finding. Links name what it concerns -- project:<number>,
    entry:<fund>#<seq>, receipt:<number> -- and must exist within what the auditor
    may read."""
    _auditor(actor)
    engagement = get_engagement(session, actor, engagement_id, for_update=True)
    _open(engagement)
    if severity not in SEVERITIES:
        raise InvalidInput("Unknown severity “{value}”.", value=str(severity)[:20])
    finding = Finding(
        severity=severity, title=clean_text(title, "Title", required=True, limit=200) or "",
        description=_long_text(description, N_("Description"), required=True),
        links=_links(session, actor, links), recorded_by=actor.name,
        recorded_at=clock.now())
    screen_public_text(session, [engagement.fund], [(N_("Title"), finding.title),
                                                    (N_("Description"), finding.description)])
    engagement.findings.append(finding)
    session.flush()
    audit.record(session, actor, "finding.record", "finding", finding.id,
                 after={"engagement": engagement.id, "severity": finding.severity,
                        "title": finding.title, "description": finding.description,
                        "links": finding.links}, fund=engagement.fund.code)
    return finding


def get_finding(session: Session, actor: Actor, finding_id: int, *,
                for_update: bool = False) -> tuple[Engagement, Finding]:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFound("There is no finding {id}.", id=finding_id)
    try:
        engagement = get_engagement(session, actor, finding.engagement_id,
                                    for_update=for_update)
    except NotFound:
        raise NotFound("There is no finding {id}.", id=finding_id) from None
    return engagement, finding


def respond(session: Session, actor: Actor, finding_id: int, response: str) -> Finding:
    """The audited unit -- a finance, charity office or civil affairs user of the audited
    fund -- answers a finding. A later answer replaces an earlier one while the
    engagement is open; both stay in the audit trail."""
    if actor.role not in UNIT_ROLES:
        raise PermissionDenied("Only finance, charity office and civil affairs users of the "
                               "audited fund answer findings.")
    engagement, finding = get_finding(session, actor, finding_id, for_update=True)
    if engagement.fund.code != actor.fund:
        raise PermissionDenied("Only finance, charity office and civil affairs users of the "
                               "audited fund answer findings.")
    _open(engagement)
    text = _long_text(response, N_("Response"), required=True)
    screen_public_text(session, [engagement.fund], [(N_("Response"), text)])
    before = {"response": finding.response, "by": finding.responded_by}
    finding.response, finding.responded_by, finding.responded_at = (
        text, actor.name, clock.now())
    session.flush()
    audit.record(session, actor, "finding.respond", "finding", finding.id, before=before,
                 after={"engagement": engagement.id, "response": text},
                 fund=engagement.fund.code)
    return finding


def publish(session: Session, actor: Actor, engagement_id: int, *,
            conclusion: str) -> Engagement:
    """An auditor publishes the engagement with its conclusion. From then on the
    engagement and its findings are read-only and on the public pages."""
    _auditor(actor)
    engagement = get_engagement(session, actor, engagement_id, for_update=True)
    _open(engagement)
    text = _long_text(conclusion, N_("Conclusion"), required=True)
    # Screened again as a whole: it becomes public now, and a child may be listed since.
    screen_public_text(session, [engagement.fund], [
        (N_("Conclusion"), text), (N_("Title"), engagement.title), (N_("Scope"), engagement.scope),
        *((field, value) for f in engagement.findings
          for field, value in ((N_("Title"), f.title), (N_("Description"), f.description),
                               (N_("Response"), f.response)))])
    engagement.state, engagement.conclusion = "published", text
    engagement.published_by, engagement.published_at = actor.name, clock.now()
    session.flush()
    audit.record(session, actor, "engagement.publish", "engagement", engagement.id,
                 before={"state": "open"},
                 after={"state": "published", "conclusion": text,
                        "findings": [f.id for f in engagement.findings],
                        "sample_seed": engagement.sample_seed,
                        "sample": list(engagement.sample or [])},
                 fund=engagement.fund.code)
    return engagement


# --- what the public sees ------------------------------------------------------------

@dataclass(frozen=True)
class PublishedFinding:
    id: int
    severity: str
    title: str
    description: str
    links: tuple[str, ...]
    response: str | None
    responded_at: dt.datetime | None


@dataclass(frozen=True)
class PublishedResult:
    id: int
    fund_code: str
    fund_name: Bilingual
    title: str
    period: str
    period_start: dt.date
    period_end: dt.date
    scope: str
    conclusion: str
    published_at: dt.datetime
    # The sample and the seed that draws it again: anyone can check it.
    sample_seed: int | None
    sample_size: int | None
    sample: tuple[str, ...]
    findings: tuple[PublishedFinding, ...]


def published_results(session: Session,
                      fund_ids: Iterable[int] | None = None) -> list[PublishedResult]:
    """Published audit results, newest first, of the given funds (all when None).
    Public: needs no user, shows only what was published and not withdrawn."""
    stmt = (select(Engagement).where(Engagement.state == "published",
                                     Engagement.id.not_in(withdrawn_targets("engagement")))
            .options(selectinload(Engagement.findings))
            .order_by(Engagement.published_at.desc(), Engagement.id.desc()))
    if fund_ids is not None:
        stmt = stmt.where(Engagement.fund_id.in_(list(fund_ids)))
    results = []
    for e in session.execute(stmt).unique().scalars():
        assert e.published_at is not None  # a published engagement carries its moment
        results.append(PublishedResult(
            id=e.id, fund_code=e.fund.code, fund_name=e.fund.name, title=e.title,
            period=e.period, period_start=e.period_start, period_end=e.period_end,
            scope=e.scope or "", conclusion=e.conclusion or "", published_at=e.published_at,
            sample_seed=e.sample_seed, sample_size=e.sample_size,
            sample=tuple(e.sample or ()),
            findings=tuple(PublishedFinding(
                id=f.id, severity=f.severity, title=f.title, description=f.description,
                links=tuple(f.links or ()), response=f.response,
                responded_at=f.responded_at) for f in e.findings)))
    return results
