"""The optional list of aided children: added by civil affairs, shown only to civil
affairs and auditors of the project's jurisdiction, ID numbers masked in lists,
every reveal of a clear ID audited. Nothing here ever logs or audits a name or an
ID number in clear."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.protection import Protector, age_on, mask_id, validate_id
from core.reading import clean_text
from core.screening import name_hash
from grants.access import can_see_children
from grants.models import Beneficiary, Project
from grants.operations import CATEGORIES
from grants.states import State

CLOSED_STATES = frozenset({State.CLOSED, State.REJECTED, State.CANCELLED})


def add_beneficiary(session: Session, actor: Actor, protector: Protector, project: Project, *,
                    name: str, id_number: str, category: str, guardian: str | None,
                    guardian_consent: bool) -> Beneficiary:
    if actor.role != "civil_affairs" or project.fund.code != actor.fund:
        raise PermissionDenied("Only civil affairs users of {fund} keep its beneficiary lists.",
                               fund=project.fund.name)
    if State(project.state) in CLOSED_STATES:
        raise PermissionDenied("The project is finished; its beneficiary list is closed.")
    if category not in CATEGORIES:
        raise InvalidInput("Unknown beneficiary category “{value}”.", value=category[:30])
    child = clean_text(name, "Child's name", required=True, limit=60) or ""
    number = validate_id(id_number)
    today = clock.today()
    under_14 = age_on(number, today) < 14
    guardian_name = clean_text(guardian, "Guardian", limit=60)
    if under_14 and not (guardian_name and guardian_consent):
        raise InvalidInput("The child is under 14: record the guardian and the guardian's "
                           "consent (PIPL art. 31).")
    digest = protector.id_hash(number)
    if session.execute(select(Beneficiary.id).where(
            Beneficiary.project_id == project.id, Beneficiary.id_hash == digest)).first():
        raise Conflict("This child is already on the project's list.")
    name_digest, name_length = name_hash(protector, child)
    row = Beneficiary(category=category,
                      name_ct=protector.encrypt(child), id_number_ct=protector.encrypt(number),
                      id_hash=digest, id_masked=mask_id(number), name_hash=name_digest,
                      name_length=name_length,
                      guardian_ct=protector.encrypt(guardian_name) if guardian_name else None,
                      under_14=under_14, guardian_consent=bool(guardian_consent),
                      consent_date=today if guardian_consent else None,
                      added_by=actor.user_id, added_at=clock.now())
    project.beneficiaries.append(row)
    session.flush()
    # The audit trail names the record, never the child.
    audit.record(session, actor, "beneficiary.add", "beneficiary", row.id,
                 after={"project": project.ref, "category": category, "id": row.id_masked,
                        "under_14": under_14, "consent": bool(guardian_consent)},
                 fund=project.fund.code)
    return row


@dataclass(frozen=True)
class ShownChild:
    id: int
    name: str
    id_masked: str
    category: str
    under_14: bool
    guardian_consent: bool
    guardian: str | None
    also_in: list[str]  # other projects of the same need aiding the same child


def list_children(session: Session, actor: Actor, protector: Protector,
                  project: Project) -> list[ShownChild]:
    if not can_see_children(actor, project):
        raise PermissionDenied("Only civil affairs and auditors of {fund} may see the children.",
                               fund=project.fund.name)
    duplicates = duplicate_projects(session, project)
    return [ShownChild(b.id, protector.decrypt(b.name_ct), b.id_masked, b.category, b.under_14,
                       b.guardian_consent,
                       protector.decrypt(b.guardian_ct) if b.guardian_ct else None,
                       duplicates.get(b.id_hash, []))
            for b in project.beneficiaries]


def duplicate_projects(session: Session, project: Project) -> dict[str, list[str]]:
    """For each child's keyed hash, other live projects of the same purpose, in any fund,
    that aid the same child. Found by hash equality: nothing is decrypted."""
    hashes = [b.id_hash for b in project.beneficiaries]
    if not hashes:
        return {}
    rows = session.execute(
        select(Beneficiary.id_hash, Project.ref)
        .join(Project, Project.id == Beneficiary.project_id)
        .where(Beneficiary.id_hash.in_(hashes), Project.id != project.id,
               Project.purpose == project.purpose,
               Project.state.not_in([s.value for s in (State.REJECTED, State.CANCELLED)]))
    )
    found: dict[str, list[str]] = {}
    for digest, ref in rows:
        found.setdefault(digest, []).append(ref)
    return found


def reveal_id(session: Session, actor: Actor, protector: Protector, project: Project,
              beneficiary_id: int) -> str:
    """The clear ID number, for a user who needs it; the viewing itself is audited."""
    if not can_see_children(actor, project):
        raise PermissionDenied("Only civil affairs and auditors of {fund} may see the children.",
                               fund=project.fund.name)
    row = next((b for b in project.beneficiaries if b.id == beneficiary_id), None)
    if row is None:
        raise NotFound("There is no such beneficiary on this project.")
    audit.record(session, actor, "beneficiary.view-id", "beneficiary", row.id,
                 after={"project": project.ref, "id": row.id_masked}, fund=project.fund.code)
    return protector.decrypt(row.id_number_ct)

