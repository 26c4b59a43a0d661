"""Authentication plumbing: session and bearer-token users, CSRF, access enforcement, headers."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from ..extensions import csrf, db, login_manager
from ..util import now_utc
from .models import ApiToken, User, hash_token
from .permissions import PUBLIC, access_marker, enforce_access, public

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    if not is_api_request():
        return None
    token = bearer_token()
    if token is None:
        return None
    api_token = db.session.query(ApiToken).filter_by(token_hash=hash_token(token)).one_or_none()
    if api_token is None or not api_token.is_valid(now_utc()):
        return None
    g.api_token = api_token
    return api_token.user


@login_manager.unauthorized_handler
def unauthorized():
    if is_api_request():
        abort(401)
    if request.path != "/":  # opening the site is not an error worth a message
        flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def _protect_session_api_writes():
    """The API is exempt from form CSRF; a browser session calling it must still send the token."""
    if not is_api_request() or request.method in SAFE_METHODS or "api_token" in g:
        return
    if request.endpoint is None or access_marker(current_app, request.endpoint, request.method) == PUBLIC:
        return  # public endpoints (token exchange) act on nothing of the session's user
    if current_user.is_authenticated:
        csrf.protect()


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
    return response


def init_security(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    # "basic", not "strong": a tablet that changes network mid-inspection must stay signed in.
    login_manager.session_protection = "basic"
    if app.config.get("INSPECT_PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    if "static" in app.view_functions:
        send_static = app.view_functions["static"]

        @public
        def static(filename):
            return send_static(filename=filename)
        app.view_functions["static"] = static
    app.before_request(enforce_access)
    app.before_request(_protect_session_api_writes)
    app.after_request(_security_headers)
