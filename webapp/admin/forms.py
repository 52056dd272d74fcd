from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from core.actors import ROLE_LABELS
from core.i18n import N_
from webapp.reading import AmountField, DateField


class UserForm(FlaskForm):
    username = StringField(N_("User name"), validators=[DataRequired(), Length(max=40)])
    display_name = StringField(N_("Full name"), validators=[DataRequired(), Length(max=80)])
    role = SelectField(N_("Role"), choices=ROLE_LABELS)
    fund = SelectField(N_("Jurisdiction"))
    password = PasswordField(N_("Initial password"),
                             validators=[DataRequired(), Length(min=10, max=200)])


class RelatedPartyForm(FlaskForm):
    party = StringField(N_("Related unit or person"), validators=[DataRequired(),
                                                                 Length(max=200)])


class PolicyForm(FlaskForm):
    threshold = AmountField(N_("Two finance approvers above (yuan)"),
                            validators=[DataRequired(), Length(max=30)])


class FundForm(FlaskForm):
    code = StringField(N_("Code"), validators=[DataRequired(), Length(max=16)])
    name_zh = StringField(N_("Chinese name"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(N_("English name"), validators=[DataRequired(), Length(max=120)])
    opened_on = DateField(N_("Opened on"), validators=[DataRequired()])
