"""Changes to accounts and tokens: validate, flush, audit (never commit)."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit.services import record_event
from ..errors import InvalidData
from ..extensions import db
from ..util import now_utc
from .models import ApiToken, User, hash_token
from .permissions import ROLES

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash to check against when the username is unknown, so timing does not reveal it."""
    from .models import password_method
    method = password_method()
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _dummy_hashes[method]


class AccountLocked(Exception):
    """Too many failed sign-ins; the account is locked until ``until``."""

    def __init__(self, until: datetime):
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


def keep_changes_on_error() -> None:
    """Let this request commit even though it answers 4xx (failed sign-in counters)."""
    g.keep_changes_on_error = True


def _reference():
    return current_app.extensions["inspect_reference"]


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def password_problems(password: str, username: str = "") -> list:
    problems = []
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    elif len(set(password)) < 4:
        problems.append(_l("Use more different characters."))
    if username and password and username.lower() in password.lower():
        problems.append(_l("The password must not contain the username."))
    return problems


def _validate(data: dict, user: User | None) -> dict[str, list]:
    errors: dict[str, list] = {}
    ref = _reference()
    if user is None:
        username = normalise_username(data.get("username", ""))
        if not USERNAME_RE.match(username):
            errors["username"] = [_l("3–64 lower-case letters, digits, '.', '_' or '-'.")]
        elif db.session.scalar(sa.select(User.id).where(User.username == username)):
            errors["username"] = [_l("This username is taken.")]
    if "full_name" in data and not (data.get("full_name") or "").strip():
        errors["full_name"] = [_l("This field is required.")]
    if "department_code" in data and data.get("department_code") not in ref.departments:
        errors["department_code"] = [_l("Unknown department.")]
    if "region_code" in data and data.get("region_code") not in ref.regions:
        errors["region_code"] = [_l("Unknown region.")]
    roles = data.get("roles", user.roles if user else [])
    if "roles" in data:
        unknown = [r for r in roles if r not in ROLES]
        if not roles:
            errors["roles"] = [_l("Choose at least one role.")]
        elif unknown:
            errors["roles"] = [_l("Unknown role: %(roles)s", roles=", ".join(unknown))]
    credential = (data.get("credential_number", user.credential_number if user else None) or "").strip()
    if "inspector" in roles and not credential:
        errors["credential_number"] = [_l("Inspectors need an enforcement credential number.")]
    if credential and "credential_number" in data:
        clash = db.session.scalar(sa.select(User.id).where(User.credential_number == credential))
        if clash and (user is None or clash != user.id):
            errors["credential_number"] = [_l("Another account has this credential number.")]
    if "password" in data:
        problems = password_problems(data["password"], data.get("username") or (user.username if user else ""))
        if problems:
            errors["password"] = problems
    return errors


def create_user(data: dict) -> User:
    """Create an account from plain data (username, full_name, department_code, region_code,
    roles, password, credential_number, locale)."""
    errors = _validate(data, None)
    if errors:
        raise InvalidData(errors)
    user = User(username=normalise_username(data["username"]), full_name=data["full_name"].strip(),
                department_code=data["department_code"], region_code=data["region_code"],
                credential_number=(data.get("credential_number") or "").strip() or None,
                locale=data.get("locale") or None)
    user.roles = data["roles"]
    user.set_password(data["password"])
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, data: dict) -> User:
    """Change an account's details; a new password or deactivation ends its sessions and tokens."""
    errors = _validate(data, user)
    if errors:
        raise InvalidData(errors)
    for key in ("full_name", "department_code", "region_code"):
        if key in data:
            setattr(user, key, data[key].strip())
    if "locale" in data:
        user.locale = data["locale"] or None
    if "credential_number" in data:
        user.credential_number = (data["credential_number"] or "").strip() or None
    if "roles" in data:
        user.roles = data["roles"]
    if data.get("password"):
        user.set_password(data["password"])
        revoke_tokens(user)
    if "is_active" in data and bool(data["is_active"]) != user.is_active:
        user.is_active = bool(data["is_active"])
        if not user.is_active:
            user.session_nonce = secrets.token_hex(8)
            revoke_tokens(user)
    if "roles" in data or "region_code" in data or "department_code" in data:
        _evict(user.id)  # a cached token must not keep the old roles or scope
    db.session.flush()
    return user


def unlock_user(user: User) -> None:
    user.failed_login_count = 0
    user.locked_until_dt = None
    db.session.flush()


def authenticate(username: str, password: str) -> User | None:
    """Check a sign-in; count failures and lock the account after too many (raises AccountLocked)."""
    keep_changes_on_error()
    now = now_utc()
    name = normalise_username(username)
    user = db.session.scalar(sa.select(User).where(User.username == name))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        record_event(db.session, "auth.login_failed", "users", None, after={"username": name[:64]})
        return None
    if user.is_locked(now):
        record_event(db.session, "auth.login_refused_locked", "users", user.id)
        raise AccountLocked(user.locked_until_dt)
    if not user.check_password(password or "") or not user.is_active:
        user.failed_login_count += 1
        if user.failed_login_count >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until_dt = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_login_count = 0
            db.session.flush()
            raise AccountLocked(user.locked_until_dt)
        db.session.flush()
        return None
    user.failed_login_count = 0
    user.locked_until_dt = None
    user.last_login_dt = now
    db.session.flush()
    return user


def issue_token(user: User, label: str | None = None) -> tuple[str, ApiToken]:
    """Create a bearer token; the clear token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    api_token = ApiToken(user=user, token_hash=hash_token(token), label=label,
                         expires_dt=now_utc() + timedelta(hours=hours))
    db.session.add(api_token)
    db.session.flush()
    return token, api_token


def _evict(user_id: int) -> None:
    from .security import token_cache
    token_cache.evict_user(user_id)


def revoke_token(api_token: ApiToken) -> None:
    if api_token.revoked_dt is None:
        api_token.revoked_dt = now_utc()
        db.session.flush()
    _evict(api_token.user_id)


def revoke_tokens(user: User) -> int:
    tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.revoked_dt.is_(None))).all()
    for api_token in tokens:
        api_token.revoked_dt = now_utc()
    db.session.flush()
    _evict(user.id)
    return len(tokens)
