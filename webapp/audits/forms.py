from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.i18n import N_
from reports.engagements import MAX_SAMPLE, MAX_SEED, SEVERITY_LABELS
from webapp.reading import IntegerField


class OpenForm(FlaskForm):
    # The domain decides which funds the auditor may audit (404 for the others).
    fund = SelectField(N_("Fund"), validators=[DataRequired()], validate_choice=False)
    title = StringField(N_("Title"), validators=[DataRequired(), Length(max=200)])
    period = StringField(N_("Period (a year such as 2025, or a month such as 2025-03)"),
                         validators=[DataRequired(), Length(max=7)])
    scope = TextAreaField(N_("Scope"), validators=[Optional(), Length(max=5000)])


class SampleForm(FlaskForm):
    size = IntegerField(N_("Sample size"),
                        validators=[InputRequired(), NumberRange(min=1, max=MAX_SAMPLE)])
    seed = IntegerField(N_("Seed"), validators=[InputRequired(), NumberRange(min=0, max=MAX_SEED)])


class FindingForm(FlaskForm):
    severity = SelectField(N_("Severity"), choices=SEVERITY_LABELS, default="medium")
    title = StringField(N_("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(N_("Description"), validators=[DataRequired(),
                                                               Length(max=20000)])
    links = TextAreaField(N_("Links (project:YJQ-2026-003, entry:YJQ#120, "
                             "receipt:YJQ-2026-000005; one a line)"),
                          validators=[Optional(), Length(max=4000)])


class ResponseForm(FlaskForm):
    response = TextAreaField(N_("Response"), validators=[DataRequired(), Length(max=20000)])


class PublishForm(FlaskForm):
    conclusion = TextAreaField(N_("Conclusion"), validators=[DataRequired(),
                                                             Length(max=20000)])
