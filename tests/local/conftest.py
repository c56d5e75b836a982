"""Fixtures for the local runtime: a fresh embedded stack per test, and scripted functions.

Trigger semantics (batching, retries, bisecting, redrive) are proven with a scripted function in
place of the real handler, so each test decides exactly which invocation fails; the pipeline
tests use the real detector and sender.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.functions import Invocation
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.triggers import QueuePoller, StreamPoller
from tests.conftest import EVENTS
from tests.dynamodb_local import engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sample_calendars() -> list[CalendarSettings]:
    return [
        CalendarSettings.model_validate(c) for c in json.loads((EVENTS / "calendars.json").read_text("utf-8"))
    ]


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.embedded() as local:
        local.put_calendars(sample_calendars())
        yield local


def engine_tables(url: str) -> list[str]:
    # DynamoDB Local keeps one database per access key and region: look with the stack's.
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return list(client.list_tables()["TableNames"])


@pytest.fixture(params=["moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)])
def e2e_runtime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRuntime]:
    """The end-to-end pipeline twice: all on moto, and with every table and the appointments
    stream on AWS's DynamoDB Local (SQS, SNS and SES stay on moto, which lets the engine's
    loopback endpoint through). Where the two disagree, DynamoDB Local is the truth."""
    if request.param == "moto":
        with LocalRuntime.embedded() as local:
            local.put_calendars(sample_calendars())
            yield local
        return
    url: str = request.getfixturevalue("dynamodb_local")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", url)
    try:
        with LocalRuntime.embedded() as local:
            assert local.clients("dynamodb").meta.endpoint_url == url
            assert local.appointments_table() in engine_tables(url)
            local.put_calendars(sample_calendars())
            yield local
    finally:
        engine.drop_all_tables(url)


Outcome = Callable[[list[dict[str, Any]]], Any]


@dataclass
class ScriptedFunction:
    """Stands in for a handler: records every batch, answers with the next scripted outcome.

    An outcome is a function of the batch's records that returns the response or raises.
    When the script runs out, every further invocation succeeds with no failures.
    """

    arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:scripted"
    script: list[Outcome] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    default: Outcome | None = None

    def invoke(self, event: dict[str, Any]) -> Invocation:
        records = list(event["Records"])
        self.batches.append(records)
        outcome = self.script.pop(0) if self.script else self.default
        request_id = str(uuid.uuid4())
        try:
            response = outcome(records) if outcome else {"batchItemFailures": []}
        except Exception as error:  # noqa: BLE001 - the scripted "function error"
            return Invocation(request_id, None, error)
        return Invocation(request_id, response, None)


def sequence_numbers(batch: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in batch]


def appointment_ids(batch: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["Keys"]["appointment_id"]["S"] for record in batch]


def drain_stream(poller: StreamPoller) -> None:
    while True:
        poller.read_shard()
        if not poller.poll(drain=True):
            return


def drain_queue(poller: QueuePoller) -> None:
    while poller.poll(drain=True) or poller.make_visible_now():
        pass


def booking_item(appointment_id: str, calendar_id: str = "cal-dr-weber", **overrides: str) -> dict[str, Any]:
    values = {
        "appointment_id": appointment_id,
        "calendar_id": calendar_id,
        "starts_at": "2027-09-09T12:00:00+02:00",
        "status": "booked",
        "changed_at": "2027-09-01T18:30:00+02:00",
        "changed_by": "patient",
        "patient_first_name": "Maria",
        "patient_last_name": "Müller",
        **overrides,
    }
    return {key: {"S": value} for key, value in values.items()}


def write_bookings(runtime: LocalRuntime, *appointment_ids: str, calendar_id: str = "cal-dr-weber") -> None:
    dynamodb = runtime.clients("dynamodb")
    for appointment_id in appointment_ids:
        dynamodb.put_item(
            TableName=runtime.appointments_table(), Item=booking_item(appointment_id, calendar_id)
        )


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}
