"""Sign in and out, change password, API tokens, choose the language."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

import audit
from core import clock
from core.errors import DomainError
from core.i18n import LOCALES, gettext
from people import sessions
from people import tokens as api_tokens
from people.models import User
from people.users import authenticate, change_password
from webapp.access import current_actor
from webapp.auth.forms import ChangePasswordForm, LoginForm
from webapp.extensions import db, login_manager
from webapp.token_pages import token_page

bp = Blueprint("auth", __name__)


# Keys of the signed session cookie: the server-side session's key, and when the session
# was last used (seconds since the epoch), renewed by every request that is let through.
SESSION_KEY, LAST_USED = "sid", "seen"
_SIGNED_IN = ("_user_id", "_fresh", "_id", SESSION_KEY, LAST_USED)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The cookie's session, if it is open, its user active and it is neither idle nor
    past its lifetime; checked on every request, and nothing is written to the database."""
    row = sessions.find_session(db.session, session.get(SESSION_KEY))
    if row is None or str(row.user_id) != user_id:
        _signed_out(gettext("Your session has ended. Please sign in again."))
        return None
    seen = session.get(LAST_USED)
    idle = dt.timedelta(minutes=int(current_app.config["IDLE_MINUTES"]))
    why = sessions.closed_because(
        row, idle=idle, lifetime=current_app.permanent_session_lifetime,
        last_used=dt.datetime.fromtimestamp(seen, clock.CST) if isinstance(seen, int) else None)
    if why == "idle":
        _signed_out(gettext("You were signed out after {n} minutes without activity. "
                            "Please sign in again.", n=idle // dt.timedelta(minutes=1)))
        return None
    if why is not None:
        _signed_out(gettext("Your session has ended. Please sign in again."))
        return None
    session[LAST_USED] = int(clock.now().timestamp())
    g.user_session = row
    return row.user


def _signed_out(message: str) -> None:
    for key in _SIGNED_IN:
        session.pop(key, None)
    flash(message, "error")


def _begin(user: User) -> None:
    """Give this browser a new session of ``user``."""
    session[SESSION_KEY] = sessions.start_session(db.session, user)
    session[LAST_USED] = int(clock.now().timestamp())


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.username.data or "", form.password.data or "")
        if user is None:
            g.sign_in_failed = True  # counted against this account from this address (limits)
            flash(gettext("Wrong user name or password, or the account is locked for a while "
                          "after repeated failures."), "error")
            return render_template("auth/login.html", form=form), 200
        # A sign-in over another one in this browser ends the earlier session.
        sessions.end_session_by_key(db.session, session.get(SESSION_KEY), "replaced")
        lang = request.args.get("lang") or session.get("lang")
        session.clear()
        if lang in LOCALES:
            session["lang"] = lang
        login_user(user)
        session.permanent = True
        _begin(user)
        audit.record(db.session, user.actor(), "user.login", "user", user.username)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    audit.record(db.session, current_user.actor(), "user.logout", "user", current_user.username)
    if "user_session" in g:
        sessions.end_session(g.user_session, "logout")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            ended = change_password(db.session, user, form.current.data or "",
                                    form.new.data or "", revoke_tokens=form.revoke_tokens.data)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("auth/password.html", form=form), 422
        _begin(user)  # every session ended, this one too: this browser goes on under a new one
        flash(gettext("Your password has been changed. Sessions signed out elsewhere: {n}. "
                      "API tokens revoked: {tokens}.", n=max(ended.sessions - 1, 0),
                      tokens=len(ended.tokens)), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    return token_page(current_user._get_current_object(), "auth/tokens.html")


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    row = api_tokens.revoke_token(db.session, current_actor(), token_id,
                                  owner=current_user._get_current_object())
    flash(gettext("API token {hint}… revoked.", hint=row.hint), "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/language/<lang>", methods=["POST"])
def language(lang: str):
    if lang not in LOCALES:
        abort(404)
    session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))
