"""Attachments: the type read from the content, size and count limits, stored outside the static files."""

import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from grants.applications import permissions
from grants.applications.models import Attachment
from grants.core import audit
from grants.core.text import shorten_filename
from grants.errors import NotPermitted, ValidationFailed
from grants.extensions import db

TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
}


# An archive (DOCX, XLSX, ODT) is refused if it says it unpacks to more than this, or holds more members (ASVS 5.2.3).
MAX_UNPACKED_BYTES = 250 * 1024 * 1024  # 25 times the largest upload
MAX_MEMBERS = 1000


def sniff(content: bytes):
    """The kind of document ``content`` is ("pdf", "docx", "xlsx", "odt"), or None. Never inflates an archive."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                return None
            names = {m.filename for m in members}
            if "mimetype" in names:
                with archive.open("mimetype") as member:  # read a few bytes, not what the member claims to hold
                    mimetype = member.read(len(TYPES["odt"]) + 2).decode("ascii", "replace").strip()
                return "odt" if mimetype == TYPES["odt"] else None
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return "docx"
                if "xl/workbook.xml" in names:
                    return "xlsx"
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    return None


def clean_filename(name):
    """A file name safe to show and to offer for download: no folders, no control characters."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name)
    # Bidi overrides and other invisible format characters could make "x<RLO>gpj.pdf" read as "xfdp.jpg".
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf").strip(" .")
    return shorten_filename(name, 200) or "vedlegg"


def check_size(content):
    """ValidationFailed ("empty_file", "too_large", field "file") unless ``content`` (bytes) is between one byte
    and UPLOAD_MAX_BYTES."""
    if len(content) == 0:
        raise ValidationFailed("empty_file", field="file")
    if len(content) > current_app.config["UPLOAD_MAX_BYTES"]:
        raise ValidationFailed("too_large", field="file")


def check_kind(filename, content):
    """The document type of ``content`` read from the content itself ("pdf", "docx", "xlsx", "odt"), which the
    name's ending must match; or ValidationFailed ("wrong_type", "name_mismatch", field "file")."""
    kind = sniff(content)
    if kind is None:
        raise ValidationFailed("wrong_type", field="file")
    extension = Path(clean_filename(filename)).suffix.lower().lstrip(".")
    if extension != kind:
        raise ValidationFailed("name_mismatch", field="file", kind=kind)
    return kind


def check_file(filename, content):
    """The document type of one uploaded file, checked on its own (size, type from the content, name): for
    documents that are not counted against an application's attachments (messages, documents sent afterwards)."""
    check_size(content)
    return check_kind(filename, content)


def check_upload(application, filename, content):
    """The document type of an upload to ``application``'s attachments, or ValidationFailed with the reason."""
    check_size(content)
    if len(application.attachments) >= current_app.config["UPLOAD_MAX_FILES"]:
        raise ValidationFailed("too_many", field="file")
    return check_kind(filename, content)


def store(content):
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = uuid.uuid4().hex
    (folder / stored_name).write_bytes(content)
    return stored_name


def stored(filename, content, kind):
    """Store ``content`` (bytes of a checked document of ``kind``, named ``filename``) and give the columns of a
    stored document (grants.db.StoredFileMixin): the cleaned name, the stored name, the type, size and SHA-256."""
    return {"original_name": clean_filename(filename), "stored_name": store(content), "content_type": TYPES[kind],
            "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def path_of(attachment):
    return Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_name


def unlink_after_commit(path):
    """Delete the stored file at ``path`` once the session's transaction commits; nothing if it rolls back, so a
    row is never left without its file."""
    db.session.info.setdefault(_UNLINK, []).append(Path(path))


_UNLINK = "grants.files_to_unlink"


@event.listens_for(Session, "after_commit")
def _unlink_committed(session):
    for path in session.info.pop(_UNLINK, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session):
    session.info.pop(_UNLINK, None)


def add_attachment(application, user, filename, content, purpose="general"):
    if not permissions.can_edit(application, user):
        raise NotPermitted("not_permitted")
    kind = check_upload(application, filename, content)
    attachment = Attachment(
        application=application, purpose=purpose, uploaded_by_id=user.id, **stored(filename, content, kind),
    )
    db.session.add(attachment)
    db.session.flush()
    audit.record(user, application, "add_attachment", name=attachment.original_name, size=attachment.size)
    return attachment


def remove_attachment(attachment, user):
    application = attachment.application
    if not permissions.can_edit(application, user):
        raise NotPermitted("not_permitted")
    audit.record(user, application, "remove_attachment", name=attachment.original_name)
    application.attachments.remove(attachment)
    db.session.flush()
    unlink_after_commit(path_of(attachment))
