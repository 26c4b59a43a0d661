"""The planners' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField
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
