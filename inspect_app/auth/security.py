"""Authentication plumbing: session and bearer-token users, CSRF, access enforcement, headers."""
from __future__ import annotations

import threading
import time
from datetime import datetime

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.middleware.proxy_fix import ProxyFix

from ..extensions import csrf, db, login_manager
from ..util import now_utc
from .models import ApiToken, User, UserRole, hash_token
from .permissions import PUBLIC, access_marker, enforce_access, public

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Sent by the tablets' service worker when it fetches a page to keep a copy for offline use
FIELD_COPY_HEADER = "X-Field-Copy"


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if is_api_request() and bearer_token():
        return None  # an explicit token wins over a browser session
    ident, _, nonce = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.is_active or user.session_nonce != nonce:
        return None
    return user


class TokenCache:
    """Validated bearer tokens, kept for a few seconds per process.

    Looking the token and its account up cost two queries on every API request (most of an
    authenticated request's time, bench/README.md). A revocation or deactivation made in this
    process evicts at once; other workers notice within ``API_TOKEN_CACHE_SECONDS`` (default 5;
    0 turns the cache off).
    """

    def __init__(self, max_entries: int = 10000):
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, dict, list, int, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str, now_mono: float, now: datetime):
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        valid_until, row, roles, token_id, expires_dt = entry
        if now_mono >= valid_until or now >= expires_dt:
            self._entries.pop(token_hash, None)
            return None
        return row, roles, token_id

    def put(self, token_hash: str, ttl: float, now_mono: float, row: dict, roles: list, token_id: int,
            expires_dt: datetime) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token_hash] = (now_mono + ttl, row, roles, token_id, expires_dt)

    def evict_user(self, user_id: int) -> None:
        with self._lock:
            for key in [k for k, v in self._entries.items() if v[1]["id"] == user_id]:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


token_cache = TokenCache()
_TOKEN_USER = None


def _token_user_statement():
    """One Core SELECT for token and account (the ORM query cost about 1 ms a request)."""
    global _TOKEN_USER
    if _TOKEN_USER is None:
        users, tokens = User.__table__, ApiToken.__table__
        _TOKEN_USER = (sa.select(tokens.c.id.label("token_id"), tokens.c.expires_dt.label("token_expires_dt"),
                                 *users.c)
                       .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
                       .where(tokens.c.token_hash == sa.bindparam("token_hash"),
                              tokens.c.revoked_dt.is_(None), tokens.c.expires_dt > sa.bindparam("now"),
                              users.c.is_active.is_(True)))
    return _TOKEN_USER


def _lookup_token(token_hash: str, now: datetime):
    ttl = current_app.config.get("API_TOKEN_CACHE_SECONDS", 0)
    mono = time.monotonic()
    if ttl:
        cached = token_cache.get(token_hash, mono, now)
        if cached is not None:
            return cached
    row = db.session.execute(_token_user_statement(), {"token_hash": token_hash, "now": now}).mappings().first()
    if row is None:
        return None
    roles = db.session.execute(sa.select(UserRole.__table__.c.role)
                               .where(UserRole.__table__.c.user_id == row["id"])).scalars().all()
    account = {c.key: row[c.key] for c in User.__table__.c}
    if ttl:
        token_cache.put(token_hash, ttl, mono, account, list(roles), row["token_id"], row["token_expires_dt"])
    return account, list(roles), row["token_id"]


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """Bearer-token sign-in for the API: the account is built from one row (or the worker's token
    cache) as a detached, fully loaded ORM user (make_transient_to_detached), with no query."""
    if not is_api_request():
        return None
    token = bearer_token()
    if token is None:
        return None
    found = _lookup_token(hash_token(token), now_utc())
    if found is None:
        return None
    account, roles, token_id = found
    user = User(**account)
    links = [UserRole(user_id=account["id"], role=role) for role in roles]
    for link in links:
        make_transient_to_detached(link)
    make_transient_to_detached(user)
    set_committed_value(user, "role_links", links)
    # Detached, fully loaded: reading it needs no session; a service that relates an object to it
    # attaches it through the cascade without a query. (Attaching it here cost ~0.2 ms a request.)
    g.api_token_id = token_id
    return user


@login_manager.unauthorized_handler
def unauthorized():
    if is_api_request():
        abort(401)
    if request.path != "/":  # opening the site is not an error worth a message
        flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def _protect_session_api_writes():
    """The API is exempt from form CSRF; a browser session calling it must still send the token."""
    if not is_api_request() or request.method in SAFE_METHODS or "api_token_id" in g:
        return
    if request.endpoint is None or access_marker(current_app, request.endpoint, request.method) == PUBLIC:
        return  # public endpoints (token exchange) act on nothing of the session's user
    if current_user.is_authenticated:
        csrf.protect()


SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
     "worker-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"),
]


def _security_headers(response):
    if "Content-Security-Policy" not in response.headers:
        response.headers.extend(SECURITY_HEADERS)
    return response


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    """The cookie session, minus two per-request costs: Flask builds a new itsdangerous
    serializer for every request (one per app is enough), and a bearer-token API call has no
    cookie session to open or save."""

    def open_session(self, app, request):
        if request.path.startswith("/api/") and request.headers.get("Authorization", "")[:7].lower() == "bearer ":
            return self.null_session_class()
        return super().open_session(app, request)

    def should_set_cookie(self, app, session):
        # A tablet's background copy of a page (static/js/field-sw.js) runs beside what the user does: its
        # answer must not overwrite the cookie that a concurrent request (a language switch, a flash) just set.
        if request.headers.get(FIELD_COPY_HEADER):
            return False
        return super().should_set_cookie(app, session)

    def get_signing_serializer(self, app):
        cached = app.extensions.get("inspect_session_serializer")
        if cached is None or cached[0] != app.secret_key:
            cached = (app.secret_key, super().get_signing_serializer(app))
            app.extensions["inspect_session_serializer"] = cached
        return cached[1]


def init_security(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    # "basic", not "strong": a tablet that changes network mid-inspection must stay signed in.
    login_manager.session_protection = "basic"
    hops = int(app.config.get("INSPECT_PROXY_FIX") or 0)
    if hops:
        # the client's address is the hops-th from the right of X-Forwarded-For (each proxy appends one);
        # scheme and host come from the proxy nearest the application
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1, x_host=1)
    if "static" in app.view_functions:
        send_static = app.view_functions["static"]

        @public
        def static(filename):
            return send_static(filename=filename)
        app.view_functions["static"] = static
    app.session_interface = CachedSerializerSessionInterface()
    app.before_request(enforce_access)
    app.before_request(_protect_session_api_writes)
    app.after_request(_security_headers)
