"""Sign in and out, change password, choose the language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

import audit
from core.errors import DomainError
from core.i18n import LOCALES, gettext
from webapp.auth.forms import ChangePasswordForm, LoginForm
from webapp.auth.models import User
from webapp.auth.users import authenticate, change_password
from webapp.extensions import db, login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Sessions carry "<user id>:<session token>": a password change or a deactivation
    changes the token and ends every other session."""
    user_id, _, secret = token.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.execute(select(User).where(User.id == int(user_id))).scalar_one_or_none()
    if user is None or not user.active or user.session_token != secret:
        return None
    return user


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.username.data or "", form.password.data or "")
        if user is None:
            flash(gettext("Wrong user name or password, or the account is locked for a while "
                          "after repeated failures."), "error")
            return render_template("auth/login.html", form=form), 200
        session.clear()
        login_user(user)
        session.permanent = True
        audit.record(db.session, user.actor(), "user.login", "user", user.username)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # type: ignore[no-untyped-def]
    audit.record(db.session, current_user.actor(), "user.logout", "user", current_user.username)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(db.session, current_user, form.current.data or "", form.new.data or "")
        except DomainError as error:
            flash(error.message, "error")
            return render_template("auth/password.html", form=form), 422
        login_user(current_user)  # the session token changed with the password
        flash(gettext("Your password has been changed."), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form)


@bp.route("/language/<lang>", methods=["POST"])
def language(lang: str):  # type: ignore[no-untyped-def]
    if lang not in LOCALES:
        abort(404)
    session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
