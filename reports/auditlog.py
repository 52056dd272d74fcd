"""Which audit records a user may read: those of the funds they may read (DESIGN §1).

Every record names the fund its action belongs to (``AuditRecord.fund``, covered by
its hash). A record that names none -- every record written before funds were recorded
(revision 0006), and actions of no fund -- is attributed, for reading, by its subject:
a project's, a receipt's, a ledger entry's fund, as the audit-log extract always did.
When its subject names no fund either (the console's or a system job's own business),
it is shown only to users who may read every fund.

The chain stays one chain: a scoped list is a selection of its records, and a record
is verified against the whole chain (``specialfund audit verify``), never alone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    case,
    cast,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from audit.models import AuditRecord
from core.actors import Actor
from grants.access import visible_fund_ids
from grants.models import Beneficiary, Project
from ledger.income_models import AllocationProposal, BankLine, BankStatement, Donor, Receipt
from ledger.models import Fund
from people.models import ApiToken, User
from reports.models import Engagement, Finding

_R = AuditRecord


def _numeric_subject() -> ColumnElement[Any]:
    # Subjects of these kinds were always written from integer ids; the CASE below
    # reaches this only for them, and the cast lets the lookup use the primary key.
    return cast(_R.subject_id, BigInteger)


def _fund_code(*joins: tuple[Any, Any], where: ColumnElement[bool]) -> Any:
    """The code of the fund reached through ``joins``, for the record being read."""
    stmt = select(Fund.code)
    for target, on in joins:
        stmt = stmt.join(target, on)
    return stmt.where(where).limit(1).scalar_subquery()


def _by_id(model: Any) -> Any:
    return _fund_code((model, model.fund_id == Fund.id),
                      where=model.id == _numeric_subject())


def subject_fund() -> ColumnElement[Any]:
    """The code of the fund a record's subject belongs to, NULL when it names none:
    how records written before funds were recorded are attributed."""
    return case(
        (_R.subject_type == "fund", _fund_code(where=Fund.code == _R.subject_id)),
        (_R.subject_type == "journal_entry",
         _fund_code(where=_R.subject_id.like(Fund.code + "#%"))),
        (_R.subject_type == "annual-report",
         _fund_code(where=_R.subject_id.like(Fund.code + ":%"))),
        (_R.subject_type == "receipt",
         _fund_code((Receipt, Receipt.fund_id == Fund.id), where=Receipt.code == _R.subject_id)),
        (_R.subject_type == "project",
         _fund_code((Project, Project.fund_id == Fund.id), where=Project.ref == _R.subject_id)),
        (_R.subject_type == "beneficiary",
         _fund_code((Project, Project.fund_id == Fund.id),
                    (Beneficiary, Beneficiary.project_id == Project.id),
                    where=Beneficiary.id == _numeric_subject())),
        (_R.subject_type == "bank_statement", _by_id(BankStatement)),
        (_R.subject_type == "bank_line", _by_id(BankLine)),
        (_R.subject_type == "allocation", _by_id(AllocationProposal)),
        (_R.subject_type == "donor", _by_id(Donor)),
        (_R.subject_type == "engagement", _by_id(Engagement)),
        (_R.subject_type == "finding",
         _fund_code((Engagement, Engagement.fund_id == Fund.id),
                    (Finding, Finding.engagement_id == Engagement.id),
                    where=Finding.id == _numeric_subject())),
        (_R.subject_type == "user",
         _fund_code((User, User.jurisdiction_id == Fund.id),
                    where=User.username == _R.subject_id)),
        (_R.subject_type == "api-token",
         _fund_code((User, User.jurisdiction_id == Fund.id),
                    (ApiToken, ApiToken.user_id == User.id),
                    where=ApiToken.id == _numeric_subject())),
        else_=None,
    )


def record_fund() -> ColumnElement[Any]:
    """The fund a record belongs to: the one it names, else (an old record) its subject's."""
    return func.coalesce(_R.fund, subject_fund())


@dataclass(frozen=True)
class Scope:
    """The records a reader is shown: those of these funds, and those of no fund when
    the reader may read every fund."""

    codes: frozenset[str]
    unattributed: bool

    def clause(self, owner: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
        owner = record_fund() if owner is None else owner
        parts = [owner.in_(sorted(self.codes))] if self.codes else []
        if self.unattributed:
            parts.append(owner.is_(None))
        return or_(*parts) if parts else false()


def scope_of(session: Session, funds: Collection[Fund]) -> Scope:
    """The records of these funds; those of no fund too when these are all the funds."""
    codes = frozenset(f.code for f in funds)
    every = set(session.execute(select(Fund.code)).scalars())
    return Scope(codes, bool(codes) and codes >= every)


def readable_scope(session: Session, actor: Actor) -> Scope:
    """The records this user may read: those of the funds they may read. Administrators
    manage people and funds, not money: they read no audit records here."""
    if actor.role == "admin":
        return Scope(frozenset(), False)
    ids = visible_fund_ids(session, actor)
    funds = list(session.execute(select(Fund).where(Fund.id.in_(ids))).scalars()) if ids else []
    return scope_of(session, funds)
