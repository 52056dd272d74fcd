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
from tests.worlds import CONSOLE
from webapp.auth.tokens import create_token
from webapp.auth.users import find_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
pytestmark = pytest.mark.slow


def test_the_api_keeps_its_document(app, world, factory, approved):
    with transaction(factory) as session:
        token, _row = create_token(session, CONSOLE, find_user(session, "fin1"),
                                   name="schemathesis", expires_on=None)
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tested = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def conforms(case) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses[response.status_code] += 1

        conforms()
        tested.append(operation.label)
    assert len(tested) >= 15, tested
    # Generated requests got through to the views as well as being refused.
    assert statuses[200] and statuses[422] and sum(statuses.values()) > 100, statuses
