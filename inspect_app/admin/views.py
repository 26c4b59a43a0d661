"""Administration of accounts, within the administrator's region scope."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from ..auth.forms import EmptyForm, UserForm
from ..auth.models import User, UserRole
from ..auth.permissions import ROLES, authorize, permission_required
from ..auth.services import create_user, revoke_tokens, unlock_user, update_user
from ..errors import InvalidData
from ..extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


def _reference():
    return current_app.extensions["inspect_reference"]


def _scoped_regions():
    """Regions the current administrator may assign: all for the city, else their own county."""
    ref = _reference()
    return [r for r in ref.regions.values() if ref.region_contains(current_user.region_code, r.code)]


def _fill_choices(form: UserForm) -> None:
    locale = str(get_locale())
    form.department_code.choices = [SelectChoice(d.code, d.name(locale))
                                    for d in _reference().departments.values()]
    form.region_code.choices = [SelectChoice(r.code, f"{r.name(locale)} ({r.code})") for r in _scoped_regions()]
    form.roles.choices = [SelectChoice(code, str(label)) for code, label in ROLES.items()]


def _apply_errors(form: UserForm, exc: InvalidData) -> None:
    for field, messages in exc.fields.items():
        getattr(form, field, form.username).errors = list(messages)


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    authorize("users.manage", user)
    return user


@bp.route("/users")
@permission_required("users.manage")
def users():
    ref = _reference()
    query = sa.select(User).order_by(User.username)
    if current_user.region_code != ref.city.code:
        query = query.where(User.region_code == current_user.region_code)
    q = (request.args.get("q") or "").strip()
    if q:
        like = f"%{q}%"
        query = query.where(sa.or_(User.username.ilike(like), User.full_name.ilike(like),
                                   User.credential_number.ilike(like)))
    for arg, column in (("department", User.department_code), ("region", User.region_code)):
        if request.args.get(arg):
            query = query.where(column == request.args[arg])
    if request.args.get("role"):
        query = query.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == request.args["role"])))
    page = max(request.args.get("page", 1, type=int), 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("admin/users.html", users=rows, total=total, page=page, per_page=PER_PAGE,
                           departments=ref.departments, regions=ref.regions, roles=ROLES,
                           scoped_regions=_scoped_regions(), args=request.args)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("users.manage")
def user_new():
    form = UserForm()
    _fill_choices(form)
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "is_active")}
        try:
            user = create_user(data)
        except InvalidData as exc:
            _apply_errors(form, exc)
        else:
            flash(_("Account %(username)s created.", username=user.username), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    elif request.method == "GET":
        form.region_code.data = current_user.region_code
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("users.manage")
def user_edit(user_id: int):
    user = _load_user(user_id)
    form = UserForm(obj=user)
    _fill_choices(form)
    del form.username
    if request.method == "GET":
        form.roles.data = user.roles
        form.locale.data = user.locale or ""
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k != "csrf_token"}
        if not data.get("password"):
            data.pop("password", None)
        if user.id == current_user.id and not data.get("is_active", True):
            form.is_active.errors = [_("You cannot deactivate your own account.")]
        else:
            try:
                update_user(user, data)
            except InvalidData as exc:
                _apply_errors(form, exc)
            else:
                flash(_("Account %(username)s saved.", username=user.username), "success")
                return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=user, action_form=EmptyForm())


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@permission_required("users.manage")
def user_unlock(user_id: int):
    user = _load_user(user_id)
    if EmptyForm().validate_on_submit():
        unlock_user(user)
        flash(_("Account %(username)s unlocked.", username=user.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/revoke-tokens", methods=["POST"])
@permission_required("users.manage")
def user_revoke_tokens(user_id: int):
    user = _load_user(user_id)
    if EmptyForm().validate_on_submit():
        count = revoke_tokens(user)
        flash(_("%(count)d API token(s) revoked.", count=count), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))
