"""Every blueprint of the app, in the order ``create_app`` registers them: one package
per area (``routes.py``, ``forms.py``, ``templates/<area>/``), none importing another."""

from __future__ import annotations

from webapp.admin.routes import bp as admin_bp
from webapp.annual.routes import bp as annual_bp
from webapp.api.routes import bp as api_bp
from webapp.audits.routes import bp as audits_bp
from webapp.auth.routes import bp as auth_bp
from webapp.downloads.routes import bp as downloads_bp
from webapp.jobs.routes import bp as jobs_bp
from webapp.main.routes import bp as main_bp
from webapp.money.routes import bp as money_bp
from webapp.projects.routes import bp as projects_bp
from webapp.public.routes import bp as public_bp
from webapp.withdrawals.routes import bp as withdrawals_bp

BLUEPRINTS = (auth_bp, main_bp, projects_bp, money_bp, annual_bp, audits_bp, downloads_bp,
              jobs_bp, admin_bp, public_bp, withdrawals_bp, api_bp)
