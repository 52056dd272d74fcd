from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from core.i18n import N_
from webapp.reading import DateField


class LoginForm(FlaskForm):
    username = StringField(N_("User name"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(N_("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(N_("Current password"), validators=[DataRequired()])
    new = PasswordField(N_("New password"), validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(N_("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new")])
    # Ticked unless the user unticks it: whoever knew the old password may hold a token.
    revoke_tokens = BooleanField(N_("Also revoke all my API tokens"), default=True)


class TokenForm(FlaskForm):
    name = StringField(N_("Token name"), validators=[DataRequired(), Length(max=80)])
    expires_on = DateField(N_("Valid until (optional)"), validators=[Optional()])
