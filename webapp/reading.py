"""The web's side of the one strict reader (``core.reading``, ``core.money.parse_amount``):
URL ids bounded to the database's integer range, strict whole numbers in query strings,
form fields for amounts, dates and whole numbers, and limits on what a request may carry
(the length of its query string, NUL characters, JSON nested without end).

Whatever a request holds, it is refused with 400/404/422 and a message naming the
parameter, never answered with a server error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, overload

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import BaseConverter, ValidationError
from wtforms import DateField as _DateField
from wtforms import IntegerField as _IntegerField
from wtforms import StringField
from wtforms.validators import ValidationError as FieldError

from core.errors import InvalidInput
from core.i18n import gettext
from core.money import parse_amount
from core.reading import DB_INT_MAX, read_date, read_int

# Every address of the app fits in far less; a longer query string is not ours.
MAX_QUERY_STRING = 4096
# A project, the deepest body the API takes, nests four levels.
MAX_JSON_DEPTH = 32
# No list is longer than this many pages.
MAX_PAGE = 100_000


class IdConverter(BaseConverter):
    """``<int:...>`` app-wide: ASCII digits within the database's INTEGER range, so that
    /projects/99999999999999999999999 or /projects/٣ is not found instead of overflowing
    a query (PostgreSQL) or meaning project 3."""

    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > DB_INT_MAX:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


@overload
def query_int(name: str, default: int, *, minimum: int = 1,
              maximum: int = DB_INT_MAX) -> int: ...
@overload
def query_int(name: str, default: None, *, minimum: int = 1,
              maximum: int = DB_INT_MAX) -> int | None: ...
def query_int(name: str, default: int | None, *, minimum: int = 1,
              maximum: int = DB_INT_MAX) -> int | None:
    """A whole number from the query string (``default`` when absent or empty), refused
    with a message naming the parameter when it is anything else."""
    value = request.args.get(name, "")
    if not value:
        return default
    return read_int(value, name, minimum=minimum, maximum=maximum)


def refusal(form: Any) -> InvalidInput:
    """The form's first problem as a refusal that names its field."""
    for field in form:
        if field.errors:
            error = field.errors[0]
            label = gettext(field.label.text)
            problem = error if error.startswith(label) else f"{label}: {gettext(error)}"
            return InvalidInput("Please check what you entered: {problem}", problem=problem)
    return InvalidInput("Please check what you entered.")


# --- form fields --------------------------------------------------------------------------


class AmountField(StringField):
    """An amount in yuan, checked by ``parse_amount``; ``data`` stays the text typed,
    which the domain reads again by the same rules."""

    def __init__(self, *args: Any, allow_zero: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_zero = allow_zero

    def post_validate(self, form: Any, validation_stopped: bool) -> None:
        if validation_stopped or self.errors or not (self.data or "").strip():
            return
        try:
            parse_amount(self.data, allow_zero=self.allow_zero,
                         field=gettext(self.label.text))
        except InvalidInput as error:
            raise FieldError(error.message) from None


class _KeepsItsReason:
    """A field whose input could not be read says why, not "This field is required."
    (which ``DataRequired`` puts in place of every earlier error)."""

    errors: Sequence[str]
    process_errors: Sequence[str]

    def read(self, text: str) -> Any:
        raise NotImplementedError

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = valuelist[0] if isinstance(valuelist[0], str) else ""
        self.data = None
        if text.strip():
            try:
                self.data = self.read(text)
            except InvalidInput as error:
                raise ValueError(error.message) from None

    def post_validate(self, form: Any, validation_stopped: bool) -> None:
        if self.process_errors:
            self.errors = list(self.process_errors)


class DateField(_KeepsItsReason, _DateField):
    """A day written YYYY-MM-DD (full-width digits too); nothing else."""

    def read(self, text: str) -> Any:
        return read_date(text, gettext(self.label.text))


class IntegerField(_KeepsItsReason, _IntegerField):
    """A whole number in ASCII or full-width digits, within the database's range (a
    ``NumberRange`` validator narrows it further)."""

    def read(self, text: str) -> Any:
        return read_int(text, gettext(self.label.text) or self.name, minimum=0)


# --- what a request may carry -------------------------------------------------------------


def _check_request() -> None:
    if len(request.query_string) > MAX_QUERY_STRING:
        raise InvalidInput("The address is longer than {limit} characters; nothing here "
                           "takes that much.", limit=MAX_QUERY_STRING)
    # PostgreSQL refuses NUL in text: refused here, whichever parameter carries it.
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, value in request.args.items(multi=True)):
        raise InvalidInput("The address contains a NUL character.")
    if any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)):
        raise InvalidInput("A field contains a NUL character.")


def _check_json(value: Any) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH`` or holding text a database
    cannot store (NUL, lone surrogates); iterative, so depth cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("text a database cannot store")
            item.encode("utf-8")  # a lone surrogate (\ud800) raises UnicodeEncodeError
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class JSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:  # nested thousands deep: a parse error like any other
            raise ValueError("JSON nested too deeply") from None
        _check_json(value)
        return value


def init_app(app: Flask) -> None:
    """Before any blueprint registers a route: ``<int:…>`` is then ``IdConverter``."""
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
    app.before_request(_check_request)

