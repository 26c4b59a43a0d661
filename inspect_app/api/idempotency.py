"""Idempotency-Key for API writes (design.md 4.2): a tablet that resends a POST after a dropped
connection gets the first result back and creates nothing twice.

The key is stored in the same transaction as the write; two identical requests racing each
other meet at the unique (user, key) constraint, and the loser answers with the winner's result.
"""
from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..errors import ApiError
from ..extensions import db
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,100}$")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def never_stored(view):
    """Mark an API write whose answer must never be kept (a full identity number, victims' details): its
    Idempotency-Key is ignored, so a resend reads again (and is audited again) instead of a stored copy."""
    view._never_stored = True
    return view


def _never_stored() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class is not None else view
    return bool(getattr(handler, "_never_stored", False))


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.full_path.encode() + b"\0")
    if request.mimetype == "multipart/form-data":
        # A resent form has a new boundary: compare its fields and files' contents, not its bytes.
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(b"f\0" + name.encode() + b"\0" + value.encode() + b"\0")
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: (item[0], item[1].filename or "")):
            content = hashlib.sha256()
            for chunk in iter(lambda: upload.stream.read(1 << 16), b""):
                content.update(chunk)
            upload.stream.seek(0)
            digest.update(b"u\0" + name.encode() + b"\0" + (upload.filename or "").encode() + b"\0"
                          + content.hexdigest().encode() + b"\0")
        return digest.hexdigest()
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(record.response_body, status=record.status_code, content_type=record.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                             IdempotencyKey.key == key))


def check_idempotency_key():
    """before_request: answer a repeat from the stored result, refuse a key reused for another
    request, and otherwise claim the key (a twin request waits on the claim, then replays)."""
    key = request.headers.get(HEADER)
    if key is None or request.method not in WRITE_METHODS or not request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None  # the access check answers 401 first
    if _never_stored():
        return None
    if not KEY_RE.match(key):
        raise ApiError(400, _("Idempotency-Key must be 1 to 100 visible ASCII characters."),
                       code="bad_idempotency_key")
    fingerprint = _fingerprint()
    record = _find(current_user.id, key)
    if record is None:
        record = IdempotencyKey(user_id=current_user.id, key=key, method=request.method,
                                path=request.path[:500], request_hash=fingerprint, status_code=0,
                                content_type="", response_body=b"")
        db.session.add(record)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()  # a twin claimed it first and has committed by now
            record = _find(current_user.id, key)
        else:
            g.idempotency = record
            return None
    if record.request_hash != fingerprint:
        raise ApiError(422, _("This Idempotency-Key was already used for a different request."),
                       code="idempotency_key_reused")
    return _replay(record)


def store_idempotent_response(response: Response) -> None:
    """Called before the commit of a successful write that carried a key."""
    record = g.idempotency
    record.status_code = response.status_code
    record.content_type = response.content_type or "application/json"
    record.response_body = response.get_data()
