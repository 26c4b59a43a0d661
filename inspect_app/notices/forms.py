"""Forms of the notice pages (CSRF on every one, the public verification upload included)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class IssueForm(FlaskForm):
    type = SelectField(_l("Notice"), validators=[DataRequired()])


class VoidForm(FlaskForm):
    reason = TextAreaField(_l("Why is it void?"), validators=[DataRequired(), Length(min=4, max=500)])


class BatchForm(FlaskForm):
    type = SelectField(_l("Notice"), validators=[DataRequired()])
    campaign_id = SelectField(_l("Campaign"), coerce=int, validators=[DataRequired()])
    day = DateField(_l("Inspection day"), validators=[DataRequired()])


class SealForm(FlaskForm):
    department = SelectField(_l("Department"), validators=[DataRequired()])
    file = FileField(_l("Seal image (PNG)"), validators=[FileRequired()])


class VerifyUploadForm(FlaskForm):
    file = FileField(_l("The PDF you received"), validators=[FileRequired()])


class CodeForm(FlaskForm):
    class Meta:
        csrf = False  # a GET look-up: nothing changes

    code = StringField(_l("Verification code"), validators=[Optional(), Length(max=20)])
