"""Sign-in, sign-out, own profile and language."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..audit.services import record_event
from ..errors import InvalidData
from ..extensions import db, limiter
from .forms import EmptyForm, LanguageForm, LoginForm, PasswordChangeForm, PinForm
from .permissions import can, login_required, permission_required, public
from .services import AccountLocked, authenticate, keep_changes_on_error, update_user

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would help phishing."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    from ..navigation import home_url_for
    return home_url_for(current_user)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(None))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data)
        except AccountLocked as exc:
            form.username.errors.append(
                _("Too many failed sign-ins: the account is locked until %(time)s.",
                  time=format_datetime(exc.until, "short")))
        else:
            if user is None:
                form.password.errors.append(_("Wrong username or password."))
            else:
                login_user(user)
                session.permanent = True
                record_event(db.session, "auth.login", "users", user.id)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, language_form=LanguageForm())


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    response = redirect(url_for("auth.login"))
    if EmptyForm().validate_on_submit():
        record_event(db.session, "auth.logout", "users", current_user.id)
        logout_user()
        flash(_("You have signed out."), "info")
        # The next person on the tablet must not find this user's pages in the HTTP cache (the back button).
        # The offline copies in Cache Storage are deleted by the service worker (static/js/field-sw.js) when it
        # sees this POST: "storage" here would also delete the outbox (IndexedDB) and with it the changes that
        # have not reached the server yet.
        response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/language", methods=["POST"])
@public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        keep_changes_on_error()
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            try:
                update_user(current_user, {"password": form.new_password.data})
            except InvalidData as exc:
                form.new_password.errors.extend(exc.fields.get("password", []))
            else:
                login_user(current_user._get_current_object())  # the new session nonce ends every other session
                flash(_("Your password has been changed. Other devices have been signed out."), "success")
                return redirect(url_for("auth.profile"))
    return _profile_page(form, PinForm(prefix="pin"))


def _profile_page(form, pin_form, status: int = 200):
    return render_template("auth/profile.html", form=form, language_form=LanguageForm(),
                           pin_form=pin_form if can(current_user, "inspections.work") else None), status


@bp.route("/profile/pin", methods=["POST"])
@permission_required("inspections.work")
def set_pin():
    """Set my PIN: officers confirm their presence on a colleague's tablet with it."""
    from ..inspection.services import set_officer_pin
    pin_form = PinForm(prefix="pin")
    if pin_form.validate_on_submit():
        try:  # a wrong password counts towards the lock-out: the service keeps that change on a 422
            set_officer_pin(current_user, pin_form.pin.data, password=pin_form.password.data)
        except InvalidData as exc:
            for name, messages in exc.fields.items():
                getattr(pin_form, name, pin_form.pin).errors = list(messages)
        else:
            flash(_("Your PIN is set. Confirm with it on a colleague's tablet."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(PasswordChangeForm(formdata=None), pin_form, 422)
