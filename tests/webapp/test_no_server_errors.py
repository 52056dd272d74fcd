"""No input gives a server error: every route of ``app.url_map``, every method, as every
role and as a stranger, with arbitrary values in every path and query parameter, in the
fields of the forms and in the API's JSON bodies, answers below 500.

The hostile values are the ones that once gave a 500: numbers past the database's
INTEGER or BIGINT (PostgreSQL overflows where SQLite does not), digits ``isdigit()``
accepts but ``int()`` does not (²), digits of other scripts, NUL characters (PostgreSQL
refuses them in text), JSON nested thousands deep. Run it on PostgreSQL too
(TEST_DATABASE_URL): that is where overflow bites.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wtforms import FieldList, FormField
from wtforms.fields.core import UnboundField

from core.db import transaction
from tests.reports.test_public import disclose
from tests.worlds import make_token

pytestmark = pytest.mark.slow
# Generated examples per route and method besides the explicit ones; raise it for a deeper
# search by hand (SPECIALFUND_FUZZ_EXAMPLES=100), CI keeps the run to half a minute.
EXAMPLES = int(os.environ.get("SPECIALFUND_FUZZ_EXAMPLES") or 3)

# A user of each role in 雁江区 (YJQ), and a stranger.
ROLES = {"anonymous": None, "civil_affairs": "ca", "charity_office": "co",
         "finance": "fin1", "auditor": "aud", "admin": "admin"}
HOSTILE = [
    "99999999999999999999999", "2147483648", "9223372036854775808", "-1", "0", "9" * 5000,
    "²", "٣", "١٢٣", "１２", "1e3", "1_000", "1,2,3", "NaN", "Infinity", "1.5", "\x00",
    "a\x00b", "%", "%00", "..", "'", "\"", "<x>", "2026-07-01T00:00:00", "2026-02-30",
    "0000", "9999", "10000", "", " ", "\ufeff", "\u202e", "🙂", "null", "[]", "{}",
]
REAL = ["YJQ", "AYX", "ZYS", "yjq", "1", "2", "3", "2025", "2026", "2026-07-01", "en",
        "approve", "confirm", "donations", "projects", "education", "100.00", "2026-03"]
# The explicit examples of each route, one per role: one of PATH fills every path parameter
# (and the API body's fields); every query parameter and form field gets one of FIELD.
# (A NUL or a 5000-digit number anywhere in the query would refuse the whole request.)
PATH = ["99999999999999999999999", "²", "١٢٣", "a\x00b", "9" * 5000, "2147483648"]
FIELD = ["99999999999999999999999", "²", "١٢٣", "2147483648", "-1", "1e3", "0000"]
VALUE = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(REAL), st.text(max_size=12),
                  st.integers().map(str))
# The query parameters the views read, and some they do not.
QUERY_NAMES = ["page", "per_page", "year", "projects_page", "donations_page", "fund",
               "purpose", "state", "q", "period", "format", "report", "as_of", "date_from",
               "date_to", "next", "filename", "lang", "x"]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | VALUE,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
# The API's field names, so that generated bodies reach the validators and the views.
API_FIELDS = ["title", "purpose", "implementing_unit", "payee", "requested_amount", "summary",
              "budget", "counts", "tranches", "progress_report_due", "final_report_due",
              "version", "amount", "date", "donor_id", "seq", "report_id", "paid_on",
              "spent_amount", "kind", "name", "planned_date", "no_conflict", "reason"]
_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _form_fields() -> list[str]:
    """The names of every field of every form of the app, subforms flattened as WTForms
    names them (budget-0-amount), and the fields views read from ``request.form``."""
    from webapp.admin import forms as admin_forms
    from webapp.audits import forms as audit_forms
    from webapp.auth import forms as auth_forms
    from webapp.money import forms as money_forms
    from webapp.projects import forms as project_forms

    def fields(form: type) -> list[str]:
        names = []
        for name in dir(form):
            value = getattr(form, name, None)
            if not isinstance(value, UnboundField):
                continue
            if value.field_class is FieldList:
                inner = value.args[0]
                sub = inner.args[0] if inner.field_class is FormField else None
                names += ([f"{name}-0-{s}" for s in fields(sub)] if sub else [f"{name}-0"])
            else:
                names.append(name)
        return names

    names = {"doc_no", "note", "reason", "subject", "title", "text", "next", "education",
             "medical", "lang", "report", "summary"}
    for module in (admin_forms, audit_forms, auth_forms, money_forms, project_forms):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                names.update(fields(value))
    return sorted(names)


def _url(rule, values: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: quote(values[m.group(2)], safe=""), rule.rule)


@pytest.fixture
def callers(app, world, factory, post, approved):
    """Per role: a signed-in test client for the pages and an API token."""
    disclose(world, factory, post, approved)
    clients, tokens = {}, {}
    with transaction(factory) as session:
        for role, name in ROLES.items():
            if name is not None and role != "admin":
                tokens[role] = make_token(session, name, name="fuzz", expires_on=None)[0]
    for role, name in ROLES.items():
        client = app.test_client()
        if name is not None:
            response = client.post("/login", data={"username": name,
                                                   "password": "correct-horse-9"})
            assert response.status_code == 302
        clients[role] = client
    return clients, tokens


def _fuzz(clients, tokens, rule, method: str, form_fields: list[str], seen: set[int]):
    """A property over one route and method: no answer of 500 or more."""
    names = [m.group(2) for m in _VARIABLE.finditer(rule.rule)]
    api = rule.rule.startswith("/api/")

    @given(role=st.sampled_from(sorted(ROLES)),
           path=st.fixed_dictionaries({n: VALUE for n in names}),
           query=st.dictionaries(st.sampled_from(QUERY_NAMES) | st.text(max_size=8), VALUE,
                                 max_size=4),
           form=st.dictionaries(st.sampled_from(form_fields), VALUE, max_size=8),
           body=st.one_of(JSON, st.dictionaries(st.sampled_from(API_FIELDS), JSON,
                                                max_size=8)))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def never_a_server_error(role, path, query, form, body):
        url = _url(rule, path) + ("?" + urlencode(query) if query else "")
        kwargs = {}
        if api:  # signed in by token; a body is JSON
            if role in tokens:
                kwargs["headers"] = {"Authorization": f"Bearer {tokens[role]}"}
            if method in ("POST", "PUT"):
                kwargs["data"] = json.dumps(body)
                kwargs["content_type"] = "application/json"
        elif method == "POST":
            kwargs["data"] = form
        client = clients["anonymous" if api else role]
        response = client.open(url, method=method, **kwargs)
        seen.add(response.status_code)
        assert response.status_code < 500, f"{method} {url[:300]} as {role}"

    for k, (role, value) in enumerate(zip(sorted(ROLES), PATH, strict=True)):
        never_a_server_error = example(
            role=role, path=dict.fromkeys(names, value),
            query={n: FIELD[(j + k) % len(FIELD)] for j, n in enumerate(QUERY_NAMES)},
            form={n: FIELD[(j + k) % len(FIELD)] for j, n in enumerate(form_fields)},
            body=dict.fromkeys(API_FIELDS, value),
        )(never_a_server_error)
    return never_a_server_error


# Steps that may sign a test client out (or deactivate its user): taken last, so that the
# other routes are tried as each role and not only as a stranger.
LAST = ("auth.logout", "auth.password", "admin.activate")


def test_no_route_answers_a_server_error(app, callers):
    clients, tokens = callers
    form_fields = _form_fields()
    routes = sorted(((rule, method) for rule in app.url_map.iter_rules()
                     for method in sorted(rule.methods - {"HEAD", "OPTIONS"})),
                    key=lambda route: route[0].endpoint in LAST)
    assert len(routes) > 60, routes
    seen: set[int] = set()
    checked = False
    for rule, method in routes:
        if rule.endpoint in LAST and not checked:  # so far, signed in as each role
            checked = all(clients[role].get("/password").status_code == 200
                          for role, name in ROLES.items() if name is not None)
            assert checked
        _fuzz(clients, tokens, rule, method, form_fields, seen)()
    # The requests reached the views as well as the gates.
    assert {200, 404} <= seen and seen & {400, 422}, seen
