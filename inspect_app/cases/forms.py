"""Forms of cases, referrals and tip-offs."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateField, IntegerField, SelectChoice, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.forms import MultiCheckboxField


class TransitionForm(FlaskForm):
    """One step of a case; the page shows each allowed step with the fields it needs (prefix = step)."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    ordered_on = DateField(_l("Order served on"), validators=[Optional()])
    deadline = DateField(_l("Rectification deadline"), validators=[Optional()])
    date = DateField(_l("Re-inspection day"), validators=[Optional()])
    team = SelectMultipleField(_l("Officers (empty: the original team)"), coerce=int, validators=[Optional()])
    requested_on = DateField(_l("Hearing requested on"), validators=[Optional()])
    decided_on = DateField(_l("Decided on"), validators=[Optional()])
    amount = IntegerField(_l("Fine decided (yuan)"), validators=[Optional(), NumberRange(min=0)])
    waived = BooleanField(_l("The party waived the right to state, defend and ask for a hearing (in writing)"))
    hearing_held_on = DateField(_l("Hearing held on"), validators=[Optional()])
    served_on_the_spot = BooleanField(_l("The decision was handed to the party when announced (served on the spot, "
                                         "行政处罚法 Art 61)"))
    execution = SelectField(_l("Execution"), validators=[Optional()])
    executed_on = DateField(_l("Executed on"), validators=[Optional()])
    to_department = SelectField(_l("Transfer to"), validators=[Optional()])


# the fields each step shows besides the reason
# The button of each step says what it does (the status it leads to is the form's heading)
STEP_ACTIONS = {
    "rectification_ordered": _l("Order rectification"),
    "reinspection_due": _l("Schedule the re-inspection"),
    "rectified": _l("Record as rectified"),
    "not_rectified": _l("Record as not rectified"),
    "hearing_requested": _l("Record the hearing request"),
    "decided": _l("Record the decision"),
    "executed": _l("Record the execution"),
    "transferred": _l("Transfer the case"),
    "acknowledged": _l("Record the receipt"),
    "outcome_recorded": _l("Record the outcome"),
    "closed": _l("Close the case"),
}

STEP_FIELDS = {
    "rectification_ordered": ("ordered_on", "deadline"),
    "reinspection_due": ("date", "team"),
    "hearing_requested": ("requested_on",),
    "decided": ("decided_on", "amount", "waived", "hearing_held_on", "served_on_the_spot"),
    "executed": ("execution", "executed_on"),
    "transferred": ("to_department",),
}


class PenaltyForm(FlaskForm):
    amount = IntegerField(_l("Proposed fine (yuan)"), validators=[DataRequired(message=_l("This field is required.")),
                                                                  NumberRange(min=0)])
    adjustment = SelectField(_l("Discretion"))
    reason = TextAreaField(_l("Reasons for the amount (facts, circumstances, discretion)"),
                           validators=[DataRequired(), Length(max=2000)])
    serious = BooleanField(_l("Serious circumstances (情节严重)"))
    party_type = SelectField(_l("Type of party"))
    measures = MultiCheckboxField(_l("Other measures proposed"))
    notice_served_on = DateField(_l("Advance notice served on"), validators=[Optional()])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class DecisionServiceForm(FlaskForm):
    """The service of the penalty decision (the payment period runs from it)."""

    served_on = DateField(_l("Served on (by announcement: the day published)"), validators=[DataRequired()])
    manner = SelectField(_l("Manner of service"), validators=[DataRequired()])
    receipt_id = SelectField(_l("Service receipt (送达回证)"), validators=[Optional()])


class OfficersForm(FlaskForm):
    """The case's handling officers (承办人员): at least two of the handling department (行政处罚法 Art 42)."""

    # the service names why an officer is refused (department, credential, county ...): no generic choice error
    officers = SelectMultipleField(_l("Handling officers (at least two)"), coerce=int, validators=[Optional()],
                                   validate_choice=False)


class PublicationForm(FlaskForm):
    published_on = DateField(_l("Published on"), validators=[DataRequired()])


class ReferralForm(FlaskForm):
    """A referral from a case that stays with its department: victims' relief, or a case transfer letter
    for the part another department decides (e.g. the police's fine for keeping identity cards)."""

    kind = SelectField(_l("Kind of referral"), validators=[DataRequired()])
    to_department = SelectField(_l("Refer to"), validators=[DataRequired()])
    reason = TextAreaField(_l("What is referred and why"), validators=[DataRequired(), Length(max=4000)])
    persons = TextAreaField(_l("Persons to help (names, ages, origin, needs): sealed, shown only to the receiving "
                               "department (victims' relief only)"), validators=[Optional(), Length(max=10000)])


class AcknowledgeForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class OutcomeForm(FlaskForm):
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(), Length(max=4000)])


# --- tip-offs ---------------------------------------------------------------------------------

class TipOffForm(FlaskForm):
    target_name = StringField(_l("Name of the business or advertiser"), validators=[DataRequired(), Length(max=200)])
    target_address = StringField(_l("Address or where you saw it (optional)"),
                                 validators=[Optional(), Length(max=300)])
    region_code = SelectField(_l("County (optional)"), validators=[Optional()])
    target_kind = SelectField(_l("What kind of business"))
    category = SelectField(_l("What is the report about"), validators=[DataRequired()])
    description = TextAreaField(_l("What happened (when, where, who)"), validators=[DataRequired(), Length(max=5000)])
    photos = MultipleFileField(_l("Photos (optional)"))
    contact = StringField(_l("Your phone or e-mail (optional: leave empty to stay anonymous)"),
                          validators=[Optional(), Length(max=200)])


class TipOffStatusForm(FlaskForm):
    code = StringField(_l("Tracking code"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "off", "spellcheck": "false"})


class LinkEntityForm(FlaskForm):
    entity_id = IntegerField(_l("Entity number"), validators=[DataRequired()])


class UnlicensedEntityForm(FlaskForm):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=300)])
    region_code = SelectField(_l("County"), validators=[DataRequired()])


class PlanInspectionForm(FlaskForm):
    date = DateField(_l("Day"), validators=[Optional()])
    team = SelectMultipleField(_l("Officers (at least two)"), coerce=int, validators=[DataRequired()])


class CloseTipOffForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class RewardForm(FlaskForm):
    eligible = SelectField(_l("Reward eligible"), validators=[Optional()],
                           choices=[SelectChoice("", "—"), SelectChoice("yes", _l("Yes")),
                                    SelectChoice("no", _l("No"))])
    amount = IntegerField(_l("Amount (yuan)"), validators=[Optional(), NumberRange(min=0)])
    paid_on = DateField(_l("Paid on"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
