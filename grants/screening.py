"""Children's data cannot leak through free text (DESIGN §9).

Every operation that writes text which can reach the public site, open data or a
public PDF -- a project's title, summary, implementing unit and payee, audit results
and their answers, annual-report narrative, correction and withdrawal notices --
passes it through ``screen_public_text`` before it keeps it, and again at the moment
it becomes public (a project's approval, an engagement's or a report's publication),
since a child may have been listed in between. So pages, API and console get the
same refusal, with a message that names the field and says why, never what.

What is refused (``core.screening``): a valid resident ID number, anyone's; and the
name of any child on a beneficiary list of the funds concerned -- the text's own fund,
the city fund above it and the county funds below it -- compared by keyed hash, so
nothing is decrypted to screen (except, once, a name listed before the hash was kept).

The keys come with the session (``core.screening.keep_protector``): the app and the
console put them there. A session without them can still screen ID numbers, and
refuses to screen names rather than let text pass unchecked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.protection import Protector
from core.screening import (
    Fields,
    contains_name,
    name_hash,
    screen_id_numbers,
    session_protector,
)
from grants.models import Beneficiary, Project
from ledger.models import Fund


class KeysMissing(RuntimeError):
    """The session carries no keys, so listed names cannot be screened."""


def scope(session: Session, funds: Iterable[Fund]) -> list[int]:
    """The funds whose children a text of these funds is screened against: each fund,
    the fund above it and the funds below it."""
    ids = {f.id for f in funds}
    parents = {f.parent_id for f in funds if f.parent_id is not None}
    if not ids:
        return []
    below = session.execute(select(Fund.id).where(Fund.parent_id.in_(ids))).scalars()
    return sorted(ids | parents | set(below))


def _protector(session: Session) -> Protector:
    protector = session_protector(session)
    if protector is None:
        raise KeysMissing("this session carries no keys: children's names cannot be screened")
    return protector


def listed_names(session: Session, fund_ids: list[int]) -> dict[int, set[str]]:
    """The keyed hashes of the listed children's names, by length: {length: {hash}}.
    A row listed before names were hashed is hashed now (decrypted in memory, never
    logged), so this is done once for it."""
    rows = session.execute(
        select(Beneficiary.id, Beneficiary.name_hash, Beneficiary.name_length)
        .join(Project, Project.id == Beneficiary.project_id)
        .where(Project.fund_id.in_(fund_ids)).order_by(Beneficiary.id)).all()
    names: dict[int, set[str]] = defaultdict(set)
    unhashed = [row_id for row_id, digest, length in rows if digest is None or length is None]
    for row_id in unhashed:
        protector = _protector(session)
        child = session.get_one(Beneficiary, row_id)
        child.name_hash, child.name_length = name_hash(protector, protector.decrypt(child.name_ct))
        names[child.name_length].add(child.name_hash)
    for _row_id, digest, length in rows:
        if digest is not None and length is not None:
            names[length].add(digest)
    if unhashed:
        session.flush()
    return dict(names)


def screen_public_text(session: Session, funds: Iterable[Fund], fields: Fields) -> None:
    """Refuse the first field that holds a resident ID number or a listed child's name.
    ``fields`` are (message id naming the field, text) pairs."""
    fields = [(field, text) for field, text in fields if text]
    if not fields:
        return
    screen_id_numbers(fields)
    names = listed_names(session, scope(session, list(funds)))
    if not names:
        return
    protector = _protector(session)
    for field, text in fields:
        if contains_name(protector, names, text):
            raise InvalidInput("{field} contains the name of a child on a beneficiary list. "
                               "Children's names are never published: remove it.",
                               field=gettext(field))


def project_fields(project: Project) -> Fields:
    return [(N_("Title"), project.title), (N_("Implementing unit"), project.implementing_unit),
            (N_("Payee"), project.payee), (N_("Summary"), project.summary)]


def screen_project(session: Session, project: Project) -> None:
    screen_public_text(session, [project.fund], project_fields(project))

