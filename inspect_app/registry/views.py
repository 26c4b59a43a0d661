"""The licensing desk's pages: the registry list, the entry gate, entity details, licences."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from ..api.schemas import paginate
from ..auth.forms import EmptyForm
from ..auth.permissions import authorize, can, permission_required
from ..errors import InvalidData
from ..extensions import db
from .forms import (BlacklistForm, EntityForm, LicenceForm, LicenceStatusForm, SiteForm, StatusForm,
                    attribute_field)
from .gate import check_entry
from .models import ENTITY_STATUSES, LICENCE_STATUSES, BlacklistEntry, Entity, Licence, SensitiveSite
from .queries import SORTS, entity_query, expiring_licences_query, list_filters, scope_to_user
from .services import (LICENCE_STATUS_LABELS, RISK_FACTOR_LABELS, SITE_KINDS, STATUS_LABELS, TRANSITIONS,
                       DuplicateCreditCode, IllegalTransition, add_blacklist_entry, add_licence, add_sensitive_site,
                       change_licence_status, change_status, lift_blacklist_entry, register_entity, update_entity)

bp = Blueprint("registry", __name__, url_prefix="/registry")
PER_PAGE = 50
ATTR_PREFIX = "attr_"


def _ref():
    return current_app.extensions["inspect_reference"]


def _locale() -> str:
    return str(get_locale())


def _kind_or_404(code: str):
    kind = _ref().kinds.get(code or "")
    if kind is None:
        abort(404)
    return kind


def _load(entity_id: int, permission: str = "entities.view") -> Entity:
    entity = db.session.get(Entity, entity_id)
    if entity is None:
        abort(404)
    authorize(permission, entity)
    return entity


def _scoped_counties():
    ref = _ref()
    return [r for r in ref.counties if ref.region_contains(current_user.region_code, r.code)]


def _entity_form(kind, obj: Entity | None = None) -> EntityForm:
    """EntityForm plus this kind's own fields (attr_<code>)."""
    locale = _locale()
    form_class = type("KindEntityForm", (EntityForm,),
                      {ATTR_PREFIX + f.code: attribute_field(f, locale) for f in kind.fields})
    form = form_class(obj=obj)
    form.kind.choices = [SelectChoice(k.code, k.name(locale)) for k in _ref().kinds.values()]
    form.kind.data = kind.code
    form.subtype.choices = [SelectChoice("", "—")] + [
        SelectChoice(s["code"], s["name_en"] if locale.startswith("en") else s["name_zh"]) for s in kind.subtypes]
    form.region_code.choices = [SelectChoice(r.code, r.name(locale)) for r in _scoped_counties()]
    if obj is not None and request.method == "GET":
        for f in kind.fields:
            value = (obj.attributes or {}).get(f.code)
            if f.type == "boolean" and value is not None:
                value = "true" if value else "false"
            getattr(form, ATTR_PREFIX + f.code).data = value
        form.subtype.data = obj.subtype or ""
    return form


def _form_data(form: EntityForm, kind) -> dict:
    data = {key: getattr(form, key).data for key in ("name", "credit_code", "legal_representative", "address",
                                                     "region_code", "phone", "subtype")}
    data["kind"] = kind.code
    if form.legal_rep_id_number.data:
        data["legal_rep_id_number"] = form.legal_rep_id_number.data
    if form.lat.data is not None or form.lon.data is not None:
        data.update(lat=form.lat.data, lon=form.lon.data, crs=form.crs.data)
    attributes = {}
    for f in kind.fields:
        value = getattr(form, ATTR_PREFIX + f.code).data
        if value not in (None, ""):
            attributes[f.code] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    data["attributes"] = attributes
    return data


def _apply_errors(form: EntityForm, fields: dict) -> None:
    for name, messages in fields.items():
        target = name.replace("attributes.", ATTR_PREFIX)
        field = getattr(form, target, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = list(field.errors) + list(messages)


@bp.route("/")
@permission_required("entities.view")
def entities():
    args = request.args
    filters = list_filters(args)
    stmt = scope_to_user(entity_query(filters), current_user, _ref().city.code)
    page = paginate(db.session, stmt, {"page": max(args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("registry/list.html", page=page, args=args, kinds=_ref().kinds,
                           counties=_scoped_counties(), statuses=ENTITY_STATUSES, status_labels=STATUS_LABELS,
                           sorts=SORTS)


@bp.route("/new")
@permission_required("entities.edit")
def new_entity_kind():
    return render_template("registry/new_kind.html", kinds=_ref().kinds)


@bp.route("/new/<kind_code>", methods=["GET", "POST"])
@permission_required("entities.edit")
def new_entity(kind_code: str):
    kind = _kind_or_404(kind_code)
    form = _entity_form(kind)
    check = None
    if request.method == "GET":
        form.region_code.data = current_user.region_code if current_user.region_code in dict(
            (c.value, c) for c in form.region_code.choices) else None
    if form.validate_on_submit():
        data = _form_data(form, kind)
        check = check_entry(data)
        registering = request.form.get("action") == "register"
        if check.decision == "block":
            _apply_errors(form, {f["field"]: [f["message"]] for f in check.findings
                                 if f["code"] == "invalid_field" and f.get("field")})
        elif registering and (check.decision == "pass" or form.acknowledge_warnings.data):
            try:
                entity = register_entity(data, status="pending", entry_check=check)
            except DuplicateCreditCode:
                form.credit_code.errors = [_("This credit code is already registered.")]
            except InvalidData as exc:
                _apply_errors(form, exc.fields)
            else:
                flash(_("%(name)s registered (pending). Record its licences to activate it.", name=entity.name),
                      "success")
                return redirect(url_for("registry.entity", entity_id=entity.id))
        elif registering:
            form.acknowledge_warnings.errors = [_("Confirm that you have read the warnings.")]
    return render_template("registry/form.html", form=form, kind=kind, entity=None, check=check,
                           attr_fields=[getattr(form, ATTR_PREFIX + f.code) for f in kind.fields])


@bp.route("/<int:entity_id>")
@permission_required("entities.view")
def entity(entity_id: int):
    entity = _load(entity_id)
    kind = _ref().kinds.get(entity.kind)
    status_form = StatusForm()
    status_form.status.choices = [SelectChoice(s, str(STATUS_LABELS[s])) for s in TRANSITIONS[entity.status]]
    licence_form = LicenceForm()
    licence_form.type.choices = [SelectChoice(lic["type"], lic["name_en"] if _locale().startswith("en")
                                              else lic["name_zh"]) for lic in (kind.licences if kind else ())]
    licence_status_form = LicenceStatusForm()
    licence_status_form.status.choices = [SelectChoice(s, str(LICENCE_STATUS_LABELS[s])) for s in LICENCE_STATUSES]
    return render_template("registry/detail.html", entity=entity, kind=kind, status_form=status_form,
                           licence_form=licence_form, licence_status_form=licence_status_form,
                           status_labels=STATUS_LABELS, licence_status_labels=LICENCE_STATUS_LABELS,
                           risk_labels=RISK_FACTOR_LABELS, today=date.today(),
                           may_edit=can(current_user, "entities.edit", entity),
                           may_status=can(current_user, "entities.status", entity),
                           may_licence=can(current_user, "licences.edit", entity))


@bp.route("/pin-map.svg")
@permission_required("entities.view")
def pin_map():
    """The offline locator map around a point (the manual pin of the registry form and detail page)."""
    from .pinmap import make_view, pin_map_svg, points_in_view

    def number(name: str, low: float, high: float) -> float | None:
        value = request.args.get(name, type=float)
        return value if value is not None and low <= value <= high else None
    lat, lon = number("lat", -90, 90), number("lon", -180, 180)
    pin_lat, pin_lon = number("pin_lat", -90, 90), number("pin_lon", -180, 180)
    view = make_view(lat, lon, number("span", 1, 1e7))
    points = points_in_view(view, user=current_user, exclude_entity_id=request.args.get("entity", type=int))
    pin = (pin_lat, pin_lon) if pin_lat is not None and pin_lon is not None else None
    response = current_app.response_class(pin_map_svg(view, points, pin), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.route("/<int:entity_id>/edit", methods=["GET", "POST"])
@permission_required("entities.edit")
def edit_entity(entity_id: int):
    entity = _load(entity_id, "entities.edit")
    kind = _kind_or_404(entity.kind)
    form = _entity_form(kind, obj=entity)
    if form.validate_on_submit():
        data = _form_data(form, kind)
        if not form.legal_rep_id_number.data:
            data.pop("legal_rep_id_number", None)
        try:
            update_entity(entity, data)
        except DuplicateCreditCode:
            form.credit_code.errors = [_("This credit code is already registered.")]
        except InvalidData as exc:
            _apply_errors(form, exc.fields)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("registry.entity", entity_id=entity.id))
    return render_template("registry/form.html", form=form, kind=kind, entity=entity, check=None,
                           attr_fields=[getattr(form, ATTR_PREFIX + f.code) for f in kind.fields])


@bp.route("/<int:entity_id>/status", methods=["POST"])
@permission_required("entities.status")
def entity_status(entity_id: int):
    entity = _load(entity_id, "entities.status")
    form = StatusForm()
    form.status.choices = [SelectChoice(s, s) for s in ENTITY_STATUSES]
    if form.validate_on_submit():
        try:
            change_status(entity, form.status.data, form.reason.data, form.legal_basis.data)
        except IllegalTransition as exc:
            flash(exc.message(), "error")  # the refusal event commits with this redirect
        except InvalidData as exc:
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("Status changed to %(status)s.", status=STATUS_LABELS[entity.status]), "success")
    else:
        flash(_("Give the new status and the reason."), "error")
    return redirect(url_for("registry.entity", entity_id=entity.id))


@bp.route("/<int:entity_id>/licences", methods=["POST"])
@permission_required("licences.edit")
def entity_licence_add(entity_id: int):
    entity = _load(entity_id, "licences.edit")
    form = LicenceForm()
    kind = _ref().kinds.get(entity.kind)
    form.type.choices = [SelectChoice(lic["type"], lic["type"]) for lic in (kind.licences if kind else ())]
    if form.validate_on_submit():
        try:
            add_licence(entity, {k: getattr(form, k).data for k in ("type", "number", "issued_on", "expires_on")})
        except InvalidData as exc:
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("Licence recorded."), "success")
    else:
        flash("; ".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("registry.entity", entity_id=entity.id) + "#licences")


@bp.route("/licences/<int:licence_id>/status", methods=["POST"])
@permission_required("licences.edit")
def licence_status(licence_id: int):
    licence = db.session.get(Licence, licence_id)
    if licence is None:
        abort(404)
    authorize("licences.edit", licence)
    form = LicenceStatusForm()
    form.status.choices = [SelectChoice(s, s) for s in LICENCE_STATUSES]
    if form.validate_on_submit():
        try:
            change_licence_status(licence, form.status.data, form.reason.data)
        except InvalidData as exc:
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("Licence status changed."), "success")
    return redirect(url_for("registry.entity", entity_id=licence.entity_id) + "#licences")


@bp.route("/licences/expiring")
@permission_required("registry.lists")
def expiring():
    days = request.args.get("days", 30, type=int)
    if days not in (30, 60, 90):
        days = 30
    region = None if current_user.region_code == _ref().city.code else current_user.region_code
    page = paginate(db.session, expiring_licences_query(days, region=region),
                    {"page": max(request.args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("registry/expiring.html", page=page, days=days, args=request.args,
                           kinds=_ref().kinds, today=date.today(), empty_form=EmptyForm())


@bp.route("/sites", methods=["GET", "POST"])
@permission_required("sites.manage")
def sites():
    """Schools, kindergartens, hospitals and organs the entry gate measures venues against."""
    form = SiteForm()
    form.site_kind.choices = [SelectChoice(code, label) for code, label in SITE_KINDS.items()]
    form.region_code.choices = [SelectChoice(r.code, r.name(_locale())) for r in _scoped_counties()]
    if form.validate_on_submit():
        try:
            site = add_sensitive_site({k: getattr(form, k).data for k in ("site_kind", "name", "region_code",
                                                                          "address", "lat", "lon", "crs")})
        except InvalidData as exc:
            _apply_errors(form, exc.fields)
        else:
            flash(_("%(name)s added.", name=site.name), "success")
            return redirect(url_for("registry.sites"))
    stmt = sa.select(SensitiveSite).order_by(SensitiveSite.region_code, SensitiveSite.site_kind, SensitiveSite.name)
    if current_user.region_code != _ref().city.code:
        stmt = stmt.where(SensitiveSite.region_code == current_user.region_code)
    page = paginate(db.session, stmt, {"page": max(request.args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("registry/sites.html", form=form, page=page, site_kinds=SITE_KINDS, args=request.args)


@bp.route("/blacklist", methods=["GET", "POST"])
@permission_required("blacklist.manage")
def blacklist():
    """Entities and persons barred from market entry (persons shown masked only)."""
    form = BlacklistForm()
    if form.validate_on_submit():
        try:
            add_blacklist_entry({k: getattr(form, k).data for k in ("subject_type", "credit_code", "id_number", "name",
                                                                    "reason", "legal_basis", "bars_venue_work",
                                                                    "until")})
        except InvalidData as exc:
            _apply_errors(form, exc.fields)
        else:
            flash(_("Listed."), "success")
            return redirect(url_for("registry.blacklist"))
    stmt = sa.select(BlacklistEntry).order_by(BlacklistEntry.created_dt.desc())
    page = paginate(db.session, stmt, {"page": max(request.args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("registry/blacklist.html", form=form, page=page, today=date.today(),
                           lift_form=EmptyForm(), args=request.args)


@bp.route("/blacklist/<int:entry_id>/lift", methods=["POST"])
@permission_required("blacklist.manage")
def blacklist_lift(entry_id: int):
    entry = db.session.get(BlacklistEntry, entry_id)
    if entry is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        try:
            lift_blacklist_entry(entry, request.form.get("reason", ""))
        except InvalidData as exc:
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("The listing has ended."), "success")
    return redirect(url_for("registry.blacklist"))
