"""Sign-in, profile and account forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

LANGUAGE_CHOICES = [SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")]


class EmptyForm(FlaskForm):
    """A POST-only button with its CSRF token."""


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class PinForm(FlaskForm):
    """An officer's PIN, with which they confirm on a colleague's tablet (inspection.services.set_officer_pin)."""

    pin = PasswordField(_l("New PIN"), validators=[DataRequired(), Length(max=8)],
                        render_kw={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*"})
    confirm_pin = PasswordField(_l("Repeat the PIN"),
                                validators=[DataRequired(), EqualTo("pin", message=_l("The PINs differ."))],
                                render_kw={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]*"})
    password = PasswordField(_l("Your password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocapitalize": "none"})
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    department_code = SelectField(_l("Department"), validators=[DataRequired()])
    region_code = SelectField(_l("Region scope"), validators=[DataRequired()])
    roles = MultiCheckboxField(_l("Roles"))
    credential_number = StringField(_l("Enforcement credential number"), validators=[Optional(), Length(max=40)])
    locale = SelectField(_l("Language"), choices=[SelectChoice("", "—")] + LANGUAGE_CHOICES, validators=[Optional()])
    is_active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=256)],
                             render_kw={"autocomplete": "new-password"})
