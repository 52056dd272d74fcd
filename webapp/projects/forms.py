from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.i18n import N_
from webapp.i18n import CATEGORY_LABELS
from webapp.reading import AmountField, DateField, IntegerField

CONDITION_LABELS = {
    "none": N_("No condition"),
    "progress_report": N_("After the progress report is accepted"),
}


class BudgetLineForm(Form):
    item = StringField(N_("Item"), validators=[Optional(), Length(max=200)])
    amount = AmountField(N_("Amount (yuan)"), validators=[Optional(), Length(max=30)])


class TrancheForm(Form):
    planned_date = DateField(N_("Planned date"), validators=[Optional()])
    amount = AmountField(N_("Amount (yuan)"), validators=[Optional(), Length(max=30)])
    condition = SelectField(N_("Condition"), choices=CONDITION_LABELS, default="none")


class ProjectForm(FlaskForm):
    title = StringField(N_("Title"), validators=[DataRequired(), Length(max=200)])
    purpose = SelectField(N_("Purpose"), validators=[DataRequired()])
    implementing_unit = StringField(N_("Implementing unit"),
                                    validators=[DataRequired(), Length(max=200)])
    payee = StringField(N_("Payee"), validators=[DataRequired(), Length(max=200)])
    requested_amount = AmountField(N_("Requested amount (yuan)"),
                                   validators=[DataRequired(), Length(max=30)])
    summary = TextAreaField(N_("Summary"), validators=[Optional(), Length(max=5000)])
    budget = FieldList(FormField(BudgetLineForm), min_entries=5, max_entries=10)
    tranches = FieldList(FormField(TrancheForm), min_entries=4, max_entries=6)
    progress_report_due = DateField(N_("Progress report due"), validators=[Optional()])
    final_report_due = DateField(N_("Final report due"), validators=[DataRequired()])
    version = HiddenField()


# One count field per category, added to the form class so labels stay translatable.
for _key, _label in CATEGORY_LABELS.items():
    setattr(ProjectForm, f"count_{_key}", IntegerField(
        _label, default=0, validators=[InputRequired(), NumberRange(min=0, max=1_000_000)]))


class StepForm(FlaskForm):
    """The fields any workflow step may need; each step reads its own."""

    reason = TextAreaField(N_("Reason"), validators=[Optional(), Length(max=2000)])
    no_conflict = BooleanField(N_("I declare that I have no conflict of interest with the "
                                  "implementing unit or the payee."))
    amount = AmountField(N_("Approved amount (yuan)"), validators=[Optional(), Length(max=30)])
    seq = IntegerField(validators=[Optional()])
    report_id = IntegerField(validators=[Optional()])
    bank_ref = StringField(N_("Bank reference"), validators=[Optional(), Length(max=80)])
    paid_on = DateField(N_("Date"), validators=[Optional()])
    body = TextAreaField(N_("Report"), validators=[Optional(), Length(max=20000)])
    spent_amount = AmountField(N_("Amount actually spent (yuan)"), allow_zero=True,
                               validators=[Optional(), Length(max=30)])


class AttachmentForm(FlaskForm):
    file = FileField(N_("File"), validators=[FileRequired()])


class BeneficiaryForm(FlaskForm):
    name = StringField(N_("Child's name"), validators=[DataRequired(), Length(max=60)])
    id_number = StringField(N_("ID number"), validators=[DataRequired(), Length(max=30)])
    category = SelectField(N_("Category"), choices=CATEGORY_LABELS)
    guardian = StringField(N_("Guardian"), validators=[Optional(), Length(max=60)])
    guardian_consent = BooleanField(N_("The guardian has consented in writing"))
