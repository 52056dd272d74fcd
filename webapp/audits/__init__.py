"""Audit pages: engagements, samples, flags, findings, responses and publication.
The blueprint is ``webapp.audits.routes.bp``; the rules live in ``reports.engagements``."""
