"""Schemathesis against the served OpenAPI document: requests generated from the
schemas (a bounded number per operation) never make a server error, and every answer
conforms to the document: its status, media type and body."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.db import transaction
from people.tokens import create_token
from people.users import find_user
from tests.reports.test_public import disclose
from webapp.api.routes import PREFIX, api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
pytestmark = pytest.mark.slow


# Each operation is called by a user of the first role it admits, so that generated
# requests reach the views and not only the role gate.
CALLER = {"civil_affairs": "ca", "charity_office": "co", "finance": "fin1", "auditor": "aud"}


def test_the_api_keeps_its_document(app, world, factory, post, approved):
    disclose(world, factory, post, approved)  # donors, receipts, payments, an audit
    with transaction(factory) as session:
        tokens = {role: create_token(session, world[name], find_user(session, name),
                                     name="schemathesis", expires_on=None)[0]
                  for role, name in CALLER.items()}
    roles = {f"{op.method} {PREFIX}{op.path}": (op.roles or ("finance",))[0]
             for op in api.operations}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tested = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        headers = {"Authorization": f"Bearer {tokens[roles.get(operation.label, 'finance')]}"}

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def conforms(case) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)  # noqa: B023
            statuses[response.status_code] += 1

        conforms()
        tested.append(operation.label)
    assert len(tested) >= 15, tested
    # Generated requests got through to the views as well as being refused.
    assert statuses[200] and statuses[422] and sum(statuses.values()) > 100, statuses
