"""What INIT loads: each check runs in a fresh interpreter, as Lambda starts one.

In a Lambda execution environment, importing a handler builds its function: everything its
normal path needs is imported and its clients are made then, at INIT, and nothing that only
another function needs. Anywhere else, importing a handler builds nothing. No timings here
(``benchmarks/cold_start.py`` measures INIT plus the first invocation): only which modules are there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from practitioner_alerts_local.stack import AwsClients, LocalStack, samconfig_region

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {
    "DetectorFunction": ("functions.detector.app", "detector"),
    "SenderFunction": ("functions.sender.app", "sender"),
    "SettingsApiFunction": ("functions.settings_api.app", "settings_api"),
    "DeliveryEventsFunction": ("functions.delivery_events.app", "receipts"),
    "RealtimeSubscribeFunction": ("functions.realtime_subscribe.app", "subscriptions"),
}
WATCHED = [
    "boto3",
    "botocore.client",
    "pydantic",
    "jinja2",
    "babel",
    "phonenumbers",
    "email_validator",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.models",
]
CREDENTIALS = {
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    # Outside Lambda the X-Ray SDK would look for a daemon; Lambda's own setting says where.
    "POWERTOOLS_TRACE_DISABLED": "1",
}


@pytest.fixture(scope="module")
def environments() -> Iterator[dict[str, dict[str, str]]]:
    """Each function's variables as the template gives them (resource names from a moto stack)."""
    with mock_aws():
        stack = LocalStack.from_files(AwsClients(samconfig_region()))
        stack.create()
        yield {logical_id: stack.function_environment(logical_id) for logical_id in FUNCTIONS}


def after_import(module: str, builder: str, environment: dict[str, str]) -> tuple[set[str], bool]:
    """Which of WATCHED a fresh interpreter has loaded after ``import module``, and whether the
    function was built by then."""
    probe = (
        f"import {module} as app, json, sys\n"
        f"print(json.dumps([[m for m in {WATCHED!r} if m in sys.modules], "
        f"app.{builder}.cache_info().currsize == 1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **CREDENTIALS, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded, built = json.loads(done.stdout.strip().splitlines()[-1])
    return set(loaded), bool(built)


def in_lambda(environments: dict[str, dict[str, str]], logical_id: str) -> tuple[set[str], bool]:
    module, builder = FUNCTIONS[logical_id]
    return after_import(module, builder, {**environments[logical_id], "AWS_LAMBDA_FUNCTION_NAME": logical_id})


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_in_lambda_init_builds_the_function(environments: dict[str, dict[str, str]], logical_id: str) -> None:
    loaded, built = in_lambda(environments, logical_id)
    assert built
    assert "pydantic" in loaded


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_elsewhere_importing_a_handler_builds_nothing(logical_id: str) -> None:
    module, builder = FUNCTIONS[logical_id]
    _, built = after_import(module, builder, {})
    assert not built


def test_the_detector_brings_its_clients_and_batch_but_not_the_senders_rendering_or_idempotency(
    environments: dict[str, dict[str, str]],
) -> None:
    loaded, _ = in_lambda(environments, "DetectorFunction")
    assert {"boto3", "botocore.client", "aws_lambda_powertools.utilities.batch"} <= loaded
    assert {"jinja2", "babel", "aws_lambda_powertools.utilities.idempotency"}.isdisjoint(loaded)


def test_the_sender_brings_its_clients_and_idempotency(environments: dict[str, dict[str, str]]) -> None:
    loaded, _ = in_lambda(environments, "SenderFunction")
    assert {"boto3", "botocore.client", "aws_lambda_powertools.utilities.idempotency"} <= loaded


def test_the_settings_api_brings_its_event_handler(environments: dict[str, dict[str, str]]) -> None:
    loaded, _ = in_lambda(environments, "SettingsApiFunction")
    assert {"boto3", "aws_lambda_powertools.event_handler"} <= loaded
    # The OpenAPI document's models (0.1-0.2 s) are for GET /openapi.json alone.
    assert "aws_lambda_powertools.event_handler.openapi.models" not in loaded


def test_the_on_subscribe_handler_decides_from_claims_alone(environments: dict[str, dict[str, str]]) -> None:
    loaded, _ = in_lambda(environments, "RealtimeSubscribeFunction")
    assert "aws_lambda_powertools.event_handler" in loaded
    # No AWS client (the Tracer patches botocore, but boto3 never loads), no rendering, no
    # validators: none is on its path.
    assert {"boto3", "jinja2", "babel", "phonenumbers", "email_validator"}.isdisjoint(loaded)


def test_delivery_receipts_load_neither_the_validators_nor_the_renderers(
    environments: dict[str, dict[str, str]],
) -> None:
    loaded, _ = in_lambda(environments, "DeliveryEventsFunction")
    assert "boto3" in loaded
    assert {"jinja2", "babel", "phonenumbers", "email_validator"}.isdisjoint(loaded)
    assert "aws_lambda_powertools.utilities.batch" not in loaded


def test_settings_are_still_validated_when_read() -> None:
    # The validators load on the first contact checked; a stored landline is still refused.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from practitioner_alerts.domain.settings import CalendarSettings\n"
            "import pydantic\n"
            "try:\n"
            "    CalendarSettings(\n"
            "        calendar_id='c', alert_mobile='+49 30 1234567', alert_email='a@example.com'\n"
            "    )\n"
            "except pydantic.ValidationError as error:\n"
            "    assert 'landline' in str(error), error\n"
            "else:\n"
            "    raise AssertionError('a landline was accepted')",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
