"""Stored responses of API writes that carried an Idempotency-Key."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..util import UTCDateTime, now_utc


class IdempotencyKey(db.Model):
    """The first result of a write; a repeat with the same key gets it back and changes nothing."""

    __tablename__ = "idempotency_keys"
    __audit__ = False  # a cache of responses: the changes themselves are audited
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(100))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(100))
    response_body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)
