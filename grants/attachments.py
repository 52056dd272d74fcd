"""Project attachments: PDF, images and office files, checked by content (not by
the name or the browser's word), stored under the instance folder -- never under
``static/`` -- and handed out only to users who may read the project."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from pathlib import Path

from sqlalchemy.orm import Session

import audit
from core import clock
from core.actors import Actor
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.screening import strip_invisible
from grants.access import can_read_fund
from grants.models import Attachment, Project

MAX_BYTES = 10 * 1024 * 1024
UPLOAD_ROLES = frozenset({"civil_affairs", "charity_office", "finance"})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc / .xls
_OOXML = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              ".docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
             ".pptx"),
}


def sniff(data: bytes) -> tuple[str, str]:
    """(content type, extension) from the bytes themselves, or refuse."""
    if data.startswith(b"%PDF-"):
        return "application/pdf", ".pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", ".jpg"
    if data.startswith(_OLE):
        return "application/vnd.ms-office", ".doc"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            names = []
        if "[Content_Types].xml" in names:
            for prefix, kind in _OOXML.items():
                if any(n.startswith(prefix) for n in names):
                    return kind
    raise InvalidInput("Only PDF, PNG or JPEG images, and Word, Excel or PowerPoint files "
                       "can be attached.")


def _safe_name(name: str) -> str:
    base = Path(strip_invisible(name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f/]", "", base).strip() or "attachment"
    return base[:200]


def store(session: Session, actor: Actor, project: Project, *, filename: str, data: bytes,
          folder: Path) -> Attachment:
    if actor.role not in UPLOAD_ROLES or project.fund.code != actor.fund:
        raise PermissionDenied("Only staff of {fund} may attach files to its projects.",
                               fund=project.fund.name)
    if not data:
        raise InvalidInput("The file is empty.")
    if len(data) > MAX_BYTES:
        raise InvalidInput("A file may be at most {limit} MB.", limit=MAX_BYTES // (1024 * 1024))
    content_type, extension = sniff(data)
    stored = uuid.uuid4().hex + extension
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(data)
    row = Attachment(original_name=_safe_name(filename),
                     stored_name=stored, content_type=content_type, size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), uploaded_by=actor.user_id,
                     uploaded_at=clock.now())
    project.attachments.append(row)
    session.flush()
    audit.record(session, actor, "attachment.add", "project", project.ref,
                 after={"attachment": row.id, "name": row.original_name, "sha256": row.sha256,
                        "size": row.size},
                 fund=project.fund.code)
    return row


def open_attachment(actor: Actor, project: Project, attachment_id: int,
                    folder: Path) -> tuple[Attachment, Path]:
    if not can_read_fund(actor, project.fund):
        raise NotFound("There is no project {id}.", id=project.id)
    row = next((a for a in project.attachments if a.id == attachment_id), None)
    if row is None or not (folder / row.stored_name).is_file():
        raise NotFound("There is no such attachment.")
    return row, folder / row.stored_name
