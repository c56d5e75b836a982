"""A scripted day at the booking platform, written into the appointments table with boto3.

The day is 8 September 2027 and follows the help article's example: an appointment on 9 Sept at
12:00 whose patient cancels on 8 Sept at 13:00 (an alert), and another whose patient reschedules
on 8 Sept at 11:00 (silent: 25 hours before). Around it: online bookings, a practice-side edit,
a reschedule that names both times, a TTL expiry and one malformed write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.stack import PROJECT_ROOT

SAMPLE_CALENDARS = PROJECT_ROOT / "events" / "calendars.json"

# Two more calendars beside the sample one: an English practice whose only contact is a hotmail
# address (the mailbox the help article warns about), and one with no contact at all.
DEMO_EXTRA_CALENDARS: list[dict[str, Any]] = [
    {
        "calendar_id": "cal-dr-hughes",
        "practitioner_name": "Dr Emma Hughes",
        "time_zone": "Europe/London",
        "locale": "en",
        "alert_email": "hughes.surgery@hotmail.co.uk",
    },
    {
        "calendar_id": "cal-dr-rossi",
        "practitioner_name": "Dr. Luca Rossi",
        "time_zone": "Europe/Rome",
        "locale": "it",
    },
]


class ScenarioClock:
    """The time the TTL sweeper sees; the scenario moves it forward as its day goes on."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now.timestamp()


@dataclass(frozen=True)
class Step:
    at: str  # ISO-8601 with offset: the scenario clock moves here before the step runs
    description: str
    write: Callable[[Any, str], None]  # (dynamodb client, table name)


def load_calendars(path: Path) -> list[CalendarSettings]:
    return [CalendarSettings.model_validate(item) for item in json.loads(path.read_text(encoding="utf-8"))]


def demo_calendars() -> list[CalendarSettings]:
    return [
        *load_calendars(SAMPLE_CALENDARS),
        *(CalendarSettings.model_validate(c) for c in DEMO_EXTRA_CALENDARS),
    ]


def _item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        for key, value in values.items()
    }


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def book(
    appointment_id: str, calendar_id: str, starts_at: str, changed_at: str, **extra: Any
) -> Callable[[Any, str], None]:
    values = {
        "appointment_id": appointment_id,
        "calendar_id": calendar_id,
        "starts_at": starts_at,
        "status": "booked",
        "changed_at": changed_at,
        "changed_by": "patient",
        "version": 1,
        **extra,
    }

    def write(dynamodb: Any, table: str) -> None:
        dynamodb.put_item(TableName=table, Item=_item(values))

    return write


def update(
    appointment_id: str, changed_at: str, changed_by: str, **changes: Any
) -> Callable[[Any, str], None]:
    """An update_item the way the platform does it: the change, who made it, when, and version + 1."""
    values = {**changes, "changed_at": changed_at, "changed_by": changed_by}

    def write(dynamodb: Any, table: str) -> None:
        names = {f"#{key}": key for key in values}
        dynamodb.update_item(
            TableName=table,
            Key={"appointment_id": {"S": appointment_id}},
            UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in values) + " ADD #version :one",
            ExpressionAttributeNames={**names, "#version": "version"},
            ExpressionAttributeValues={**{f":{k}": v for k, v in _item(values).items()}, ":one": {"N": "1"}},
        )

    return write


def delete(appointment_id: str) -> Callable[[Any, str], None]:
    def write(dynamodb: Any, table: str) -> None:
        dynamodb.delete_item(TableName=table, Key={"appointment_id": {"S": appointment_id}})

    return write


def nothing(dynamodb: Any, table: str) -> None:
    """A step where only time passes (TTL does its work)."""


PATIENT = {"patient_first_name": "Maria", "patient_last_name": "Müller", "visit_motive": "Erstuntersuchung"}

DAY: list[Step] = [
    Step(
        "2027-09-01T18:30:00+02:00",
        "1 Sept 18:30  Maria Müller books online at Dr. Weber's for 9 Sept 12:00 (the help article's "
        "appointment).",
        book("apt-1001", "cal-dr-weber", "2027-09-09T12:00:00+02:00", "2027-09-01T18:30:00+02:00", **PATIENT),
    ),
    Step(
        "2027-09-02T09:10:00+02:00",
        "2 Sept 09:10  Jonas Becker books online at Dr. Weber's, also for 9 Sept 12:00.",
        book(
            "apt-1002",
            "cal-dr-weber",
            "2027-09-09T12:00:00+02:00",
            "2027-09-02T09:10:00+02:00",
            patient_first_name="Jonas",
            patient_last_name="Becker",
            visit_motive="Kontrolle",
        ),
    ),
    Step(
        "2027-09-07T08:00:00+02:00",
        "7 Sept 08:00  The practice enters a phone booking for 7 Sept 10:00; its item expires (TTL) on "
        "8 Sept at 14:02.",
        book(
            "apt-0900",
            "cal-dr-weber",
            "2027-09-07T10:00:00+02:00",
            "2027-09-07T08:00:00+02:00",
            changed_by="practice",
            expires_at=_epoch("2027-09-08T14:02:00+02:00"),
        ),
    ),
    Step(
        "2027-09-08T07:45:00+02:00",
        "8 Sept 07:45  Online booking at Dr Hughes' (London, e-mail only, hotmail) for 8 Sept 16:00 "
        "London time.",
        book(
            "apt-3001",
            "cal-dr-hughes",
            "2027-09-08T16:00:00+01:00",
            "2027-09-08T07:45:00+02:00",
            patient_first_name="Oliver",
            patient_last_name="Price",
            visit_motive="Follow-up",
        ),
    ),
    Step(
        "2027-09-08T08:05:00+02:00",
        "8 Sept 08:05  Online booking at Dr. Rossi's, who has no contact set: only the in-calendar feed.",
        book(
            "apt-5001",
            "cal-dr-rossi",
            "2027-09-08T15:00:00+02:00",
            "2027-09-08T08:05:00+02:00",
            patient_first_name="Giulia",
            patient_last_name="Bianchi",
        ),
    ),
    Step(
        "2027-09-08T11:00:00+02:00",
        "8 Sept 11:00  Jonas Becker moves his 9 Sept 12:00 appointment to 10 Sept 09:30: 25 hours before "
        "its start, so silent.",
        update("apt-1002", "2027-09-08T11:00:00+02:00", "patient", starts_at="2027-09-10T09:30:00+02:00"),
    ),
    Step(
        "2027-09-08T12:30:00+02:00",
        "8 Sept 12:30  The booking platform writes a start time without an offset: the detector parks it.",
        book("apt-9001", "cal-dr-weber", "2027-09-09T15:00:00", "2027-09-08T12:30:00+02:00", **PATIENT),
    ),
    Step(
        "2027-09-08T13:00:00+02:00",
        "8 Sept 13:00  Maria Müller cancels her 9 Sept 12:00 appointment online: 23 hours before, an alert.",
        update("apt-1001", "2027-09-08T13:00:00+02:00", "patient", status="cancelled"),
    ),
    Step(
        "2027-09-08T13:20:00+02:00",
        "8 Sept 13:20  Oliver Price moves today's 16:00 (London) to tomorrow 10:15: a late reschedule "
        "with both times.",
        update("apt-3001", "2027-09-08T13:20:00+02:00", "patient", starts_at="2027-09-09T10:15:00+01:00"),
    ),
    Step(
        "2027-09-08T14:00:00+02:00",
        "8 Sept 14:00  Dr. Weber's practice cancels Jonas Becker's appointment itself: silent.",
        update("apt-1002", "2027-09-08T14:00:00+02:00", "practice", status="cancelled"),
    ),
    Step(
        "2027-09-08T14:05:00+02:00",
        "8 Sept 14:05  TTL removes the old phone booking (expired at 14:02); the stream record says "
        "DynamoDB deleted it.",
        nothing,
    ),
]


def run_day(runtime: LocalRuntime, clock: ScenarioClock) -> list[tuple[str, list[dict[str, Any]]]]:
    """Write the day's changes one by one, running the pipeline until quiet after each."""
    dynamodb = runtime.clients("dynamodb")
    table = runtime.appointments_table()
    steps: list[tuple[str, list[dict[str, Any]]]] = []
    for step in DAY:
        clock.now = datetime.fromisoformat(step.at)
        before = len(runtime.observer.decisions)
        step.write(dynamodb, table)
        runtime.drain()
        steps.append((step.description, runtime.observer.decisions[before:]))
    return steps
