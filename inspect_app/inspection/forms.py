"""The field pages' forms. With JavaScript the tablet sends the same fields to the JSON API as they change;
these forms are what a browser without it (or a failed script) submits."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, FloatField, HiddenField, IntegerField, PasswordField, RadioField,
                     SelectChoice, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..auth.forms import MultiCheckboxField

ATTEST_LABEL = _l("I showed my enforcement credentials and told the party of its right to ask for recusal")


class StartForm(FlaskForm):
    """The inspector who holds the tablet starts the inspection and attests for themself."""

    party_name = StringField(_l("Party's representative present"), validators=[Optional(), Length(max=100)])
    party_role = StringField(_l("Position"), validators=[Optional(), Length(max=100)],
                             render_kw={"placeholder": _l("e.g. legal representative, manager")})
    attest = BooleanField(ATTEST_LABEL, validators=[DataRequired(_l("Confirm that you showed your credentials."))])


class PartnerAttestForm(FlaskForm):
    """A partner officer confirms on the same tablet with their own PIN or password."""

    officer_id = HiddenField(validators=[DataRequired()])
    attest = BooleanField(ATTEST_LABEL, validators=[DataRequired(_l("The officer must confirm."))])
    method = RadioField(_l("Confirm with"), default="pin", validators=[DataRequired()],
                        choices=[SelectChoice("pin", _l("PIN")), SelectChoice("password", _l("Password"))])
    secret = PasswordField(_l("PIN or password"), validators=[DataRequired(), Length(max=256)],
                           render_kw={"autocomplete": "off"})


class CheckInForm(FlaskForm):
    lat = FloatField(_l("Latitude (WGS-84)"), validators=[InputRequired(), NumberRange(-90, 90)])
    lon = FloatField(_l("Longitude (WGS-84)"), validators=[InputRequired(), NumberRange(-180, 180)])
    accuracy_m = FloatField(_l("Accuracy (m)"), validators=[Optional(), NumberRange(0, 100000)])
    at = HiddenField()
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)],
                           render_kw={"rows": 2})


class AnswerForm(FlaskForm):
    """One item's answer: the tapped button carries ``choice``; the note goes with it."""

    choice = HiddenField()
    value = StringField(validators=[Optional(), Length(max=2000)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 2})


class EvidenceForm(FlaskForm):
    file = FileField(_l("Photo"), validators=[FileRequired()],
                     render_kw={"accept": "image/*", "capture": "environment"})
    item_code = HiddenField()
    caption = StringField(_l("Caption"), validators=[Optional(), Length(max=500)])


class ViolationForm(FlaskForm):
    type_code = HiddenField(validators=[DataRequired()])
    item_code = HiddenField()
    description = TextAreaField(_l("Facts as found"), validators=[DataRequired(), Length(max=4000)],
                                render_kw={"rows": 4})
    evidence_ids = MultiCheckboxField(_l("Evidence"), coerce=int, validate_choice=False)
    persons = IntegerField(_l("Persons concerned"), validators=[Optional(), NumberRange(0, 10000)])


class RefusalForm(FlaskForm):
    """The party refuses to sign; a witness will sign beside the refusal."""

    note = TextAreaField(_l("What the party said"), validators=[Optional(), Length(max=500)], render_kw={"rows": 2})


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why it is withdrawn"), validators=[DataRequired(), Length(max=500)],
                           render_kw={"rows": 2})


class ManualInspectionForm(FlaskForm):
    entity_id = HiddenField(validators=[DataRequired()])
    lead_department = SelectField(_l("Lead department"), validators=[DataRequired()])
    officers = MultiCheckboxField(_l("Officers (at least two with credentials)"), coerce=int)
    scheduled_date = DateField(_l("Date"), validators=[DataRequired()])
    cause_note = TextAreaField(_l("Cause (tip-off, complaint, previous violation); empty for a plain check"),
                               validators=[Optional(), Length(max=1000)], render_kw={"rows": 3})


class RevealIdForm(FlaskForm):
    """A police liaison reads one roster person's full identity number, saying why (audited)."""

    index = IntegerField(_l("Person"), validators=[InputRequired()])
    reason = StringField(_l("Why you need the full number"),
                         validators=[DataRequired(_l("Say why you need the full number (e.g. the referral it is "
                                                     "for).")), Length(max=500)],
                         render_kw={"autocomplete": "off"})
