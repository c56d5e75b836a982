"""Property-based: schemathesis generates requests from the served OpenAPI document and sends
them to the local HTTP server on loopback; no answer may be a 5xx or disagree with the document.
Both valid requests and deliberately invalid ones (negative mode) are generated."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.api import LocalApiServer, LocalTokenIssuer, start_api_server
from tests.api.conftest import Stack, invoke_handler

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def server(stack: Stack, issuer: LocalTokenIssuer) -> Iterator[LocalApiServer]:
    stack.settings.put(
        CalendarSettings(calendar_id="cal-a", alert_email="praxis@example.com", alert_mobile="+4915123456789")
    )
    for index in range(3):
        stack.add_alert("cal-a", f"20270901T16300{index}Z-{index:012x}")
    running = start_api_server(issuer=issuer, invoke=invoke_handler)
    yield running
    running.shutdown()


def test_generated_requests_get_documented_answers(server: LocalApiServer, issuer: LocalTokenIssuer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    spec = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    schema = schemathesis.openapi.from_dict(spec)
    headers = {"Authorization": f"Bearer {issuer.issue_token(['cal-a', 'cal-b'])}"}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 8

    for operation, mode in itertools.product(operations, GenerationMode):
        # Most generated calendar ids are strangers (403); steer some to calendars the token lists.
        @given(
            case=operation.as_strategy(generation_mode=mode),
            calendar=st.sampled_from(["cal-a", "cal-b", None]),
        )
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_as_documented(case: schemathesis.Case[Any], calendar: str | None) -> None:
            if calendar is not None:
                case.path_parameters["calendar_id"] = calendar
            case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=10)

        answers_as_documented()
