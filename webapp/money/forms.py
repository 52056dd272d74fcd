from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core.i18n import N_
from webapp.reading import AmountField, DateField, IntegerField

TREASURY_KINDS = {"seed": N_("Seed money"), "top-up": N_("Yearly top-up")}
DONOR_KINDS = {"enterprise": N_("Enterprise"), "individual": N_("Individual")}
PUBLISH = {"name": N_("Publish the donor's name"), "anonymous": N_("Publish as anonymous")}
RULE_KINDS = {"fixed": N_("A fixed amount"), "ratio": N_("A ratio of last year's donations")}
BOOK_KINDS = {"interest": N_("Bank interest"), "fee": N_("Bank fee")}


class TreasuryForm(FlaskForm):
    kind = SelectField(N_("Kind"), choices=TREASURY_KINDS)
    date = DateField(N_("Date"), validators=[DataRequired()])
    amount = AmountField(N_("Amount (yuan)"), validators=[DataRequired(), Length(max=30)])
    doc_no = StringField(N_("Document number (文号)"), validators=[DataRequired(),
                                                                   Length(max=80)])


class RuleForm(FlaskForm):
    kind = SelectField(N_("Rule"), choices=RULE_KINDS)
    amount = AmountField(N_("Fixed amount (yuan)"), validators=[Optional(), Length(max=30)])
    ratio = StringField(N_("Ratio"), validators=[Optional(), Length(max=10)])
    cap = AmountField(N_("Cap (yuan)"), validators=[Optional(), Length(max=30)])


class DonorForm(FlaskForm):
    kind = SelectField(N_("Donor type"), choices=DONOR_KINDS)
    name = StringField(N_("Donor"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(N_("Unified social credit code"),
                              validators=[Optional(), Length(max=18)])
    id_number = StringField(N_("ID number"), validators=[Optional(), Length(max=30)])
    publish = SelectField(N_("Publication"), choices=PUBLISH)
    contact = StringField(N_("Contact"), validators=[Optional(), Length(max=100)])


class DonationForm(FlaskForm):
    donor_id = SelectField(N_("Donor"), validators=[DataRequired()])
    date = DateField(N_("Date"), validators=[DataRequired()])
    amount = AmountField(N_("Amount (yuan)"), validators=[DataRequired(), Length(max=30)])
    purpose = SelectField(N_("Purpose"), validators=[Optional()])


class VoidForm(FlaskForm):
    reason = StringField(N_("Reason"), validators=[DataRequired(), Length(max=500)])
    reissue = BooleanField(N_("Issue a replacement receipt"))
    date = DateField(N_("Date"), validators=[Optional()])


class StatementForm(FlaskForm):
    file = FileField(N_("Statement (CSV, UTF-8 or GBK)"), validators=[FileRequired()])


class MatchForm(FlaskForm):
    entry = IntegerField(N_("Entry number"), validators=[Optional()])
    kind = SelectField(N_("Book as"), choices=BOOK_KINDS, validators=[Optional()])


class PeriodForm(FlaskForm):
    period = StringField(N_("Period"), validators=[DataRequired(), Length(max=7)])
    reason = StringField(N_("Reason to close although unreconciled"),
                         validators=[Optional(), Length(max=1000)])
