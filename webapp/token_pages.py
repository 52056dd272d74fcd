"""The page of a user's API tokens, shared by the user's own account pages and the
administrators' pages (``auth`` and ``admin``): only the user makes their tokens."""

from __future__ import annotations

from flask import flash, render_template

from core.errors import DomainError
from people import tokens as api_tokens
from people.models import User
from webapp.access import current_actor
from webapp.auth.forms import TokenForm
from webapp.extensions import db


def token_page(user: User, template: str, **context: object):
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
