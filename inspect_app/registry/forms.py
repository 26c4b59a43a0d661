"""The licensing desk's forms. Kind-specific fields are added per kind from the YAML."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DecimalField, IntegerField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .models import CRS_VALUES


class EntityForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    subtype = SelectField(_l("Sub-type"), validators=[Optional()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=40)],
                              render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    legal_representative = StringField(_l("Legal representative"), validators=[Optional(), Length(max=100)])
    legal_rep_id_number = StringField(_l("Legal representative's ID number"),
                                      validators=[Optional(), Length(max=30)],
                                      render_kw={"autocomplete": "off", "spellcheck": "false"})
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=300)])
    region_code = SelectField(_l("County"), validators=[DataRequired()])
    lat = DecimalField(_l("Latitude"), places=7, validators=[Optional(), NumberRange(-90, 90)])
    lon = DecimalField(_l("Longitude"), places=7, validators=[Optional(), NumberRange(-180, 180)])
    crs = SelectField(_l("Coordinate system"), choices=[SelectChoice(c, c.upper()) for c in CRS_VALUES],
                      default="wgs84")
    acknowledge_warnings = BooleanField(_l("I have read the warnings and register the entity anyway"))


def attribute_field(kind_field, locale: str):
    """A WTForms field for one kind-specific field (validation proper stays in the service)."""
    label = kind_field.label(locale)
    validators = [InputRequired()] if kind_field.required else [Optional()]
    if kind_field.type == "integer":
        return IntegerField(label, validators=validators)
    if kind_field.type == "number":
        return DecimalField(label, validators=validators)
    if kind_field.type == "boolean":
        return SelectField(label, choices=[SelectChoice("", "—"), SelectChoice("true", str(_l("Yes"))),
                                           SelectChoice("false", str(_l("No")))], validators=validators)
    if kind_field.type == "date":
        return DateField(label, validators=validators)
    if kind_field.type == "choice":
        return SelectField(label, choices=[SelectChoice("", "—")] + [
            SelectChoice(c["value"], c["label_en"] if locale.startswith("en") else c["label_zh"])
            for c in kind_field.choices], validators=validators)
    if kind_field.type == "text":
        return TextAreaField(label, validators=validators)
    return StringField(label, validators=validators)


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    legal_basis = StringField(_l("Legal basis"), validators=[Optional(), Length(max=500)])


class LicenceForm(FlaskForm):
    type = SelectField(_l("Licence"), validators=[DataRequired()])
    number = StringField(_l("Number"), validators=[DataRequired(), Length(max=60)])
    issued_on = DateField(_l("Issued on"), validators=[Optional()])
    expires_on = DateField(_l("Expires on"), validators=[Optional()])


class LicenceStatusForm(FlaskForm):
    status = SelectField(_l("Licence status"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class SiteForm(FlaskForm):
    site_kind = SelectField(_l("Kind of site"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    region_code = SelectField(_l("County"), validators=[DataRequired()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    lat = DecimalField(_l("Latitude"), places=7, validators=[DataRequired(), NumberRange(-90, 90)])
    lon = DecimalField(_l("Longitude"), places=7, validators=[DataRequired(), NumberRange(-180, 180)])
    crs = SelectField(_l("Coordinate system"), choices=[SelectChoice(c, c.upper()) for c in CRS_VALUES],
                      default="wgs84")


class BlacklistForm(FlaskForm):
    subject_type = SelectField(_l("Listed"), choices=[SelectChoice("entity", _l("An entity (credit code)")),
                                                      SelectChoice("person", _l("A person (ID number)"))])
    credit_code = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=40)])
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=30)],
                            render_kw={"autocomplete": "off"})
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    legal_basis = StringField(_l("Legal basis"), validators=[DataRequired(), Length(max=500)])
    bars_venue_work = BooleanField(_l("Barred from opening or working in entertainment venues (条例 Art 5)"))
    until = DateField(_l("Listed until (empty: indefinitely)"), validators=[Optional()])
