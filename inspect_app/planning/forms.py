"""The planners' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (DateField, DecimalField, HiddenField, IntegerField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..auth.forms import MultiCheckboxField


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    lead_department = SelectField(_l("Lead department"), validators=[DataRequired()])
    departments = MultiCheckboxField(_l("Participating departments"))
    kinds = MultiCheckboxField(_l("Kinds of business"))
    region_codes = MultiCheckboxField(_l("Counties"))
    start_date = DateField(_l("First day"), validators=[DataRequired()])
    end_date = DateField(_l("Last day"), validators=[DataRequired()])
    sample_rate = DecimalField(_l("Sampling rate (e.g. 0.05 = 5%)"), places=4, validators=[Optional()])
    sample_size = IntegerField(_l("Or: number of targets"), validators=[Optional()])
    tier_min_risk = IntegerField(_l("Risk tier: from risk score"), validators=[Optional(), NumberRange(0, 100)])
    tier_rate = DecimalField(_l("Risk tier: rate"), places=4, validators=[Optional()])
    team_size = IntegerField(_l("Officers per team"), default=2, validators=[DataRequired(), NumberRange(2, 10)])
    max_per_team_day = IntegerField(_l("Inspections per team-day at most"), default=6,
                                    validators=[DataRequired(), NumberRange(1, 30)])
    recusal_months = IntegerField(_l("Recusal after inspecting the same entity (months)"), default=12,
                                  validators=[Optional(), NumberRange(0, 60)])


class CommitForm(FlaskForm):
    seed_commitment = StringField(_l("Seed commitment (SHA-256 of the seed, 64 hex characters)"),
                                  validators=[DataRequired(), Length(min=64, max=64)],
                                  render_kw={"spellcheck": "false", "autocomplete": "off"})


class SeedForm(FlaskForm):
    seed = StringField(_l("Seed"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"spellcheck": "false", "autocomplete": "off"})


class StatusForm(FlaskForm):
    """A lifecycle step (publish, begin, close): the target status in a hidden field."""
    status = HiddenField(validators=[DataRequired()])


class CauseForm(FlaskForm):
    """A cause-based inspection (有因检查); the officer fields (one per department) are added per campaign."""
    entity = StringField(_l("Business (credit code or registry number)"), validators=[DataRequired(), Length(max=40)],
                         render_kw={"autocomplete": "off", "spellcheck": "false"})
    date = DateField(_l("Date"), validators=[Optional()])
    cause_note = TextAreaField(_l("Cause (tip-off, complaint, previous violation ...)"),
                               validators=[DataRequired(), Length(max=1000)])


def cause_form(departments: list[tuple[str, str, list]], **kwargs) -> CauseForm:
    """A CauseForm with one officer field per department: ``[(code, label, choices)]``."""
    class _Form(CauseForm):
        pass
    for code, label, choices in departments:
        setattr(_Form, f"officer_{code}", SelectField(label, choices=[SelectChoice("", "—")] + choices,
                                                      validators=[Optional()]))
    return _Form(**kwargs)


class ConflictForm(FlaskForm):
    user_id = SelectField(_l("Inspector"), coerce=int, validators=[DataRequired()])
    entity = StringField(_l("Business (credit code or registry number)"), validators=[Optional(), Length(max=40)],
                         render_kw={"autocomplete": "off", "spellcheck": "false"})
    legal_representative = StringField(_l("Or: a legal representative's name"),
                                       validators=[Optional(), Length(max=100)])
    reason = StringField(_l("Reason (relative, former employer ...)"), validators=[DataRequired(), Length(max=500)])


class LeaveForm(FlaskForm):
    user_id = SelectField(_l("Inspector"), coerce=int, validators=[DataRequired()])
    start_date = DateField(_l("First day"), validators=[DataRequired()])
    end_date = DateField(_l("Last day"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class DeleteForm(FlaskForm):
    """A delete button (CSRF only)."""
