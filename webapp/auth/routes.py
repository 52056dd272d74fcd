"""Sign in and out, change password, API tokens, choose the language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

import audit
from core.errors import DomainError
from core.i18n import LOCALES, gettext
from webapp.auth import tokens as api_tokens
from webapp.auth.access import current_actor
from webapp.auth.forms import ChangePasswordForm, LoginForm, TokenForm
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


def token_page(user: User, template: str, **context: object):  # type: ignore[no-untyped-def]
    """A user's tokens and, for the user themself, the form for a new one. A new token is
    shown on the page that answers the form, once: never redirected through the session
    cookie, never stored."""
    form = TokenForm()
    status, token = 200, None
    own = current_actor().user_id == user.id
    if own and form.validate_on_submit():
        try:
            token, _row = api_tokens.create_token(
                db.session, current_actor(), user, name=form.name.data or "",
                expires_on=form.expires_on.data)
        except DomainError as error:
            flash(error.message, "error")
            status = 422
        else:
            form = TokenForm(formdata=None)
    elif form.errors:
        status = 422
    rows = api_tokens.tokens_of(db.session, user)
    return render_template(template, form=form if own else None, owner=user, new_token=token,
                           tokens=rows, live={t.id for t in rows if api_tokens.is_live(t)},
                           **context), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():  # type: ignore[no-untyped-def]
    return token_page(current_user._get_current_object(), "auth/tokens.html")


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    row = api_tokens.revoke_token(db.session, current_actor(), token_id,
                                  owner=current_user._get_current_object())
    flash(gettext("API token {hint}… revoked.", hint=row.hint), "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/language/<lang>", methods=["POST"])
def language(lang: str):  # type: ignore[no-untyped-def]
    if lang not in LOCALES:
        abort(404)
    session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
