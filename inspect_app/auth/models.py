"""Accounts, their roles and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..util import UTCDateTime, now_utc


def password_method() -> str:
    """scrypt with an explicit cost (config PASSWORD_HASH_METHOD), so a library default change
    is visible; tests lower the cost, production keeps the default from config.py."""
    return current_app.config["PASSWORD_HASH_METHOD"]


def new_session_nonce() -> str:
    return secrets.token_hex(8)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __audit_redact__ = {"password_hash", "session_nonce", "pin_hash"}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(100))
    department_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    credential_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # A short PIN with which an officer confirms on a colleague's tablet (field inspection), hashed.
    pin_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Part of the login cookie: changing it (password change, deactivation) ends every session.
    session_nonce: Mapped[str] = mapped_column(sa.String(32), default=new_session_nonce)
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    role_links: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"

    @property
    def roles(self) -> list[str]:
        return sorted(link.role for link in self.role_links)

    @roles.setter
    def roles(self, value) -> None:
        wanted = set(value)
        for link in list(self.role_links):
            if link.role not in wanted:
                self.role_links.remove(link)
        have = {link.role for link in self.role_links}
        for role in sorted(wanted - have):
            self.role_links.append(UserRole(role=role))

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_method())
        self.session_nonce = new_session_nonce()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def set_pin(self, pin: str) -> None:
        self.pin_hash = generate_password_hash(pin, method=password_method())

    def check_pin(self, pin: str) -> bool:
        return bool(self.pin_hash) and check_password_hash(self.pin_hash, pin)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    def is_locked(self, at: datetime) -> bool:
        return self.locked_until_dt is not None and self.locked_until_dt > at

    # Scope of the account as an object (an admin edits users of their own region only).
    @property
    def access_region_code(self) -> str:
        return self.region_code

    access_department_code = None


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_links")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    __audit_redact__ = {"token_hash"}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str | None] = mapped_column(sa.String(100))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")

    def is_valid(self, at: datetime) -> bool:
        return self.revoked_dt is None and self.expires_dt > at and self.user.is_active
