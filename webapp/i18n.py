"""Language for the web: Simplified Chinese by default, English by a switch.

Flask-Babel selects the locale and formats dates. An address may ask for a language
(``?lang=en``); a signed-in user's choice is kept in the session; else Chinese. The
public site answers by its address alone, so it sets no cookie and a shared cache never
mixes its languages: its pages' links carry ``lang=en`` while it is in English.
The messages themselves come from the one catalog
in core/translations through ``core.i18n``, which the domain packages share.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from flask import Flask, has_request_context, request, session
from flask_babel import format_date, get_locale

from core.actors import ROLE_LABELS
from core.i18n import DEFAULT_LOCALE, LOCALES, N_, gettext, normalize_locale, set_locale
from core.money import format_cny
from grants.states import (
    ACTION_LABELS,
    REPORT_LABELS,
    REPORT_STATE_LABELS,
    TRANCHE_STATE_LABELS,
)
from webapp.api import is_api_request
from webapp.extensions import babel

# The categories of children a project aids (grants.operations.CATEGORIES), as the
# project pages and the public site name them.
CATEGORY_LABELS = {
    "left_behind": N_("Left-behind children"),
    "in_difficulty": N_("Children in difficulty"),
    "orphan": N_("Orphans"),
    "disabled": N_("Children with disabilities"),
    "other": N_("Other children"),
}

# The public site's pages, whose text is in the page's language. Open data and published
# PDFs read the same in every language and keep one address.
PUBLIC_PAGES = frozenset({"public.index", "public.fund", "public.data_index", "public.verify"})


def select_locale() -> str:
    if is_api_request():  # a program says its language in its request
        return "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh_CN"
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    if request.blueprint == "public":
        return DEFAULT_LOCALE
    return normalize_locale(session.get("lang"))


def _keep_language(endpoint: str, values: dict[str, object]) -> None:
    """Links to the public site's pages keep a language other than the default."""
    if endpoint in PUBLIC_PAGES and "lang" not in values and has_request_context():
        locale = normalize_locale(str(get_locale()))
        if locale != DEFAULT_LOCALE:
            values["lang"] = locale


def language_url(lang: str) -> str:
    """This page's address in ``lang``: the switch that needs no cookie."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    if lang != DEFAULT_LOCALE:
        args.append(("lang", lang))
    return request.path + ("?" + urlencode(args) if args else "")


def _apply_locale() -> None:
    set_locale(str(get_locale()))


def money(value: Decimal | None) -> str:
    return "—" if value is None else format_cny(value)


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.date()
    return format_date(value, format="medium")


def moment(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M")


def translate(message: str, **params: object) -> str:
    return gettext(message, **params)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(_apply_locale)
    app.url_defaults(_keep_language)
    app.jinja_env.globals.update(
        _=translate, LOCALES=LOCALES, role_labels=ROLE_LABELS, report_labels=REPORT_LABELS,
        report_state_labels=REPORT_STATE_LABELS, tranche_labels=TRANCHE_STATE_LABELS,
        action_labels=ACTION_LABELS, language_url=language_url)

    @app.context_processor
    def locale_context() -> dict[str, object]:
        return {"current_locale": normalize_locale(str(get_locale()))}
    app.jinja_env.filters.update(money=money, day=day, moment=moment)
