"""Fault injection: thousands of appointment changes through the pipeline while AWS misbehaves.

``python -m practitioner_alerts_local.chaos [--changes N] [--calendars N] [--seed S] [--fault-rate F]``

1. **Generate** (seeded) calendars with sms+email, e-mail only, SMS only or no contact, in four
   languages and several time zones, and a mix of appointment changes: online bookings, late and
   early cancellations and reschedules (including the 24 h edge), practice and system edits, the
   same start written with another offset, deletions, TTL expiries and malformed writes. Each
   write carries an *intent label*: the alert the booking platform's change ought to produce.
2. **Expect**, from those labels alone, one alert per (appointment, write, kind, channel). The
   rule and the detector are never asked; a broken rule therefore shows as lost or unexplained.
3. **Run** the writes through the embedded stack with the real handlers and emulated triggers,
   while a :class:`FaultInjector` makes the functions' own AWS calls fail: throttling, 5xx,
   connect time-outs, read time-outs after the call took effect, ``Failed`` entries in
   ``SendMessageBatch``, and the execution environment dying in the middle of a batch.
4. **Compare** what SNS and SES *accepted* (moto's backends) and what the in-calendar feed holds
   with the expectation. Every write names its patient ``Pat<appointment>w<write>``, so each
   accepted message is tied to its write by its own text, not by the pipeline's logs.

The last line is ``chaos: expected=E delivered=D duplicates=U lost=L dead_letters=K unexplained=X``;
the exit code is 0 only when every expected alert arrived exactly once and nothing is unexplained.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import json
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TextIO
from unittest import mock
from zoneinfo import ZoneInfo

import boto3
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from practitioner_alerts import wiring
from practitioner_alerts.domain.settings import CalendarSettings, Locale
from practitioner_alerts.languages import words as words_for
from practitioner_alerts.rendering.sms import gsm7_spelling
from practitioner_alerts_local.functions import ExecutionEnvironmentKilled, InvocationTimedOut, ScenarioClock
from practitioner_alerts_local.redrive import local_targets, redrive
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.stack import LOCAL_ACCOUNT_ID

DEFAULT_CHANGES = 5000
DEFAULT_CALENDARS = 200
DEFAULT_SEED = 20270908
DEFAULT_FAULT_RATE = 0.10

# Chaos time: the template's times shrink by one factor: the functions' time-outs (detector 30 s
# -> 0.25 s, sender 60 s -> 0.5 s), visibility timeouts and back-off delays. A crashed
# invocation leaves its idempotency record "in progress" until its time-out; keeping the
# proportions (visibility 360 s = 6 x the sender's 60 s) keeps the behaviour, only faster.
CHAOS_TIME_SCALE = 1 / 120
# The functions run on a clock of their own (functions.ScenarioClock) that only slow and hung
# calls move: CPU time and moto's 20-80 ms a call do not shrink with chaos time, so on wall time
# a 0.25 s detector would time out on every batch. On that clock the time-outs are enforced and
# the budget for one AWS call (wiring.LONGEST_CALL_SECONDS, 7 s) holds, scaled like the rest.
# The SMS cost cap would turn a burst of test alerts into e-mail-only or parked SMS; it is
# tested on its own, so chaos runs with the template's highest allowed cap. For the same reason
# (chaos makes a day's writes within minutes, so every calendar would be a hot one) the SMS
# digest is off: chaos counts each alert by the patient it names, which a digest leaves out.
# tests/local/test_sms_digest.py runs digests through the same runtime, faults included.
CHAOS_PARAMETERS = {"SmsPerCalendarPerHour": "1000", "SmsDigestAfter": "0"}
# Appointments live in September and October 2027 (crossing the end of summer time); the TTL
# sweeper's clock stands after all of them, so any item given an expiry is removed.
SCENARIO_START = datetime(2027, 9, 1, 8, 0, tzinfo=UTC)
SCENARIO_CLOCK = datetime(2027, 12, 1, tzinfo=UTC)
WRITE_CHUNK = 100  # writes between two drains, so the stream sees a steady arrival
MAX_INVOCATIONS = 1_000_000

WINDOW = (
    "the exactly-once window is injected too (a read time-out after SNS Publish or SES SendEmail "
    "accepted a message, a crash or time-out between that acceptance and the idempotency record's "
    "completion or early delete): neither API takes an idempotency key, so the alert may go out "
    "once more; such second deliveries count as in_window, any other as duplicates"
)
# SNS down (every Publish throttled or 5xx) for this long in chaos time, from half-way through
# the writes; the SMS that outlast their ten attempts are parked and redriven once it is over.
OUTAGE_MINUTES = 40.0
OUTAGE_AT = 0.5

TIME_ZONES = (
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/London",
    "Europe/Paris",
    "Europe/Rome",
    "Atlantic/Canary",
)
LOCALES: tuple[Locale, ...] = ("de", "en", "fr", "it")
FIRST_NAMES = ("Anna", "Jonas", "Élodie", "Luca", "Oliver", "Zoë", "Mehmet", "Ingrid", "Chiara", "Noah")
TOKEN = re.compile(r"Pat(\d{5})w(\d)")

Kind = str  # "booked" | "cancelled" | "rescheduled"
Channel = str  # "sms" | "email" | "in_app"


# ------------------------------------------------------------------------------------------------
# The booking platform's day: calendars, appointments, writes with their intent
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calendar:
    settings: CalendarSettings
    # False: the practitioner never saved settings; the feed still shows alerts, in German.
    stored: bool = True

    @property
    def calendar_id(self) -> str:
        return self.settings.calendar_id

    @property
    def channels(self) -> tuple[Channel, ...]:
        """Where an alert of this calendar should show: its contacts and the in-calendar feed."""
        return (*self.settings.channels, "in_app")


@dataclass(frozen=True)
class Write:
    """One write of the booking platform, and what the generator meant by it."""

    appointment: int
    number: int  # the write's place in its appointment's script, in the patient's surname
    intent: str  # e.g. "late cancellation (13 h before)"; for the summary only
    operation: str  # put | update | delete
    values: Mapping[str, Any]  # attributes to put or set
    alert: Kind | None = None  # the alert this write ought to produce
    malformed: bool = False  # the detector ought to park it with a reason
    poison: bool = False  # a value of a type or form the contract refuses (see mix_in_poison)

    @property
    def appointment_id(self) -> str:
        return appointment_id(self.appointment)


def appointment_id(number: int) -> str:
    return f"apt-{number:05d}"


def surname(appointment: int, write: int) -> str:
    return f"Pat{appointment:05d}w{write}"


def make_calendars(count: int, rng: random.Random) -> list[Calendar]:
    calendars = []
    for index in range(count):
        contacts = rng.choices(
            ["sms+email", "email", "sms", "none", "no settings"], weights=[40, 25, 20, 10, 5]
        )[0]
        if contacts == "no settings":
            calendars.append(Calendar(CalendarSettings(calendar_id=f"cal-{index:04d}"), stored=False))
            continue
        time_zone = rng.choice(TIME_ZONES)
        settings = CalendarSettings(
            calendar_id=f"cal-{index:04d}",
            practitioner_name=rng.choice([None, f"Dr. Praxis {index:04d}"]),
            time_zone=time_zone,
            locale=rng.choice(LOCALES),
            alert_email=f"praxis{index:04d}@example.com" if "email" in contacts else None,
            # E.164 German mobiles: valid wherever the calendar's zone is.
            alert_mobile=f"+49151{index:08d}" if "sms" in contacts else None,
            # Imported by the operator with their contacts proven, as a platform migrating its
            # calendars would: chaos is about delivery under faults, not about verification.
        ).with_contacts_verified()
        calendars.append(Calendar(settings))
    return calendars


class _Script:
    """Builds one appointment's writes with a consistent state and increasing change times."""

    def __init__(self, number: int, calendar: Calendar, starts_at: datetime, rng: random.Random) -> None:
        self.number = number
        self.calendar = calendar
        self.zone = ZoneInfo(calendar.settings.time_zone)
        self.starts_at = starts_at
        self.rng = rng
        self.writes: list[Write] = []

    def _iso(self, moment: datetime, *, utc: bool = False) -> str:
        # The platform writes local offsets mostly, sometimes UTC ("Z"); both are valid.
        if utc:
            return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return moment.astimezone(self.zone).isoformat()

    def _patient(self) -> dict[str, Any]:
        return {
            "patient_first_name": self.rng.choice(FIRST_NAMES),
            "patient_last_name": surname(self.number, len(self.writes) + 1),
        }

    def book(
        self, changed_at: datetime, by: str, intent: str, *, status: str = "booked", **extra: Any
    ) -> None:
        values = {
            "appointment_id": appointment_id(self.number),
            "calendar_id": self.calendar.calendar_id,
            "starts_at": self._iso(self.starts_at, utc=self.rng.random() < 0.2),
            "status": status,
            "changed_at": self._iso(changed_at),
            "changed_by": by,
            "visit_motive": self.rng.choice(["Kontrolle", "Erstuntersuchung", "Follow-up", "Vaccin"]),
            "version": 1,
            **self._patient(),
            **extra,
        }
        alert = "booked" if by == "patient" and status == "booked" else None
        self._add(intent, "put", values, alert)

    def update(self, changed_at: datetime, by: str, intent: str, alert: Kind | None, **changes: Any) -> None:
        values = {**changes, "changed_at": self._iso(changed_at), "changed_by": by, **self._patient()}
        self._add(intent, "update", values, alert)

    def _add(self, intent: str, operation: str, values: Mapping[str, Any], alert: Kind | None) -> None:
        self.writes.append(Write(self.number, len(self.writes) + 1, intent, operation, dict(values), alert))


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def script_for(number: int, calendar: Calendar, rng: random.Random) -> list[Write]:
    """One appointment's story, picked at random; every alert it expects comes from its label."""
    start = SCENARIO_START + timedelta(days=rng.uniform(12, 60))
    start = start.replace(minute=rng.choice([0, 15, 30, 45]), second=0, microsecond=0)
    script = _Script(number, calendar, start, rng)
    booked_at = start - timedelta(days=rng.uniform(11, 11.9))  # before every later change
    late = _hours(rng.uniform(0.25, 23.9))
    early = _hours(rng.uniform(24.1, 24 * 9))
    story = rng.choices(list(_STORIES), weights=[w for w, _ in _STORIES.values()])[0]
    _STORIES[story][1](script, start, booked_at, late, early)
    return script.writes


def _online_booking(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(start - late, "patient", "online booking")


def _phone_booking(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, s.rng.choice(["practice", "system"]), "practice or system booking")


def _late_cancellation(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    by = s.rng.choice(["patient", "practice"])
    s.book(booked_at, by, f"{by} booking")
    s.update(start - late, "patient", "patient cancellation, late", "cancelled", status="cancelled")


def _cancellation_at_the_edge(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    if s.rng.random() < 0.5:
        s.update(
            start - _hours(24),
            "patient",
            "patient cancellation, exactly 24 h",
            "cancelled",
            status="cancelled",
        )
    else:
        edge = start - _hours(24) - timedelta(minutes=1)
        s.update(edge, "patient", "patient cancellation, 24 h 1 min", None, status="cancelled")


def _early_cancellation(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    s.update(start - early, "patient", "patient cancellation, early", None, status="cancelled")


def _late_reschedule(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    new_start = start + _hours(s.rng.uniform(1, 96))
    s.update(start - late, "patient", "patient reschedule, late", "rescheduled", starts_at=s._iso(new_start))
    if s.rng.random() < 0.4:  # and again, closer to the new start
        s.starts_at = new_start
        again = new_start + _hours(s.rng.uniform(1, 48))
        # After the first change, and less than 24 h before the new start.
        changed = max(start - late + timedelta(minutes=1), new_start - _hours(s.rng.uniform(0.25, 23.9)))
        s.update(
            changed,
            "patient",
            "patient reschedule, late, again",
            "rescheduled",
            starts_at=s._iso(again),
        )


def _early_reschedule(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    new_start = start + _hours(s.rng.uniform(1, 96))
    s.update(start - early, "patient", "patient reschedule, early", None, starts_at=s._iso(new_start))


def _reschedule_into_short_notice(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    # Made days before the original start, so not late for it; but the new start is at most
    # 24 h after the change: the practitioner now has a patient at short notice.
    s.book(booked_at, "patient", "online booking")
    changed = start - early
    new_start = changed + _hours(s.rng.uniform(0.25, 23.9))
    s.update(
        changed, "patient", "patient reschedule into short notice", "rescheduled", starts_at=s._iso(new_start)
    )


def _practice_edits(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    by = s.rng.choice(["practice", "system"])
    if s.rng.random() < 0.5:
        s.update(start - late, by, f"{by} cancellation, late", None, status="cancelled")
    else:
        s.update(start - late, by, f"{by} reschedule, late", None, starts_at=s._iso(start + _hours(2)))


def _silent_patient_edits(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    if s.rng.random() < 0.5:
        s.update(start - late, "patient", "patient edits the visit motive, late", None, visit_motive="Rezept")
    else:
        # The same instant in UTC instead of local time: not a reschedule.
        same = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        s.update(start - late, "patient", "same start, other offset, late", None, starts_at=same)


def _cancel_and_rebook(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "online booking")
    s.update(start - late, "patient", "patient cancellation, late", "cancelled", status="cancelled")
    s.update(
        start - late + timedelta(minutes=5),
        "patient",
        "patient books the cancelled slot again",
        "booked",
        status="booked",
    )


def _inserted_cancelled(
    s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta
) -> None:
    s.book(booked_at, "patient", "inserted as cancelled", status="cancelled")


def _deleted(s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta) -> None:
    s.book(booked_at, s.rng.choice(["patient", "practice"]), "booking, later deleted")
    s.writes.append(Write(s.number, len(s.writes) + 1, "deleted by the platform", "delete", {}))


def _ttl_expiry(s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta) -> None:
    # The TTL sweeper removes it soon after: a REMOVE record with DynamoDB's identity, silent.
    expires = int((SCENARIO_CLOCK - timedelta(days=1)).timestamp())
    s.book(booked_at, s.rng.choice(["patient", "practice"]), "booking that expires (TTL)", expires_at=expires)


def _malformed(s: _Script, start: datetime, booked_at: datetime, late: timedelta, early: timedelta) -> None:
    problem = s.rng.choice(["starts_at without offset", "missing calendar_id", "update without offset"])
    if problem == "update without offset":
        s.book(booked_at, "patient", "online booking")
        naive = start.astimezone(s.zone).replace(tzinfo=None).isoformat()
        s.update(start - late, "patient", "malformed: reschedule without offset", None, starts_at=naive)
    elif problem == "starts_at without offset":
        s.book(booked_at, "patient", "malformed: starts_at without offset")
        values = dict(s.writes[-1].values)
        values["starts_at"] = start.astimezone(s.zone).replace(tzinfo=None).isoformat()
        s.writes[-1] = Write(s.number, 1, s.writes[-1].intent, "put", values)
    else:
        s.book(booked_at, "patient", "malformed: missing calendar_id")
        values = {k: v for k, v in s.writes[-1].values.items() if k != "calendar_id"}
        s.writes[-1] = Write(s.number, 1, s.writes[-1].intent, "put", values)
    last = s.writes[-1]
    s.writes[-1] = Write(last.appointment, last.number, last.intent, last.operation, last.values, None, True)


_StoryFn = Any
_STORIES: dict[str, tuple[int, _StoryFn]] = {
    "online booking": (20, _online_booking),
    "practice or system booking": (8, _phone_booking),
    "late cancellation": (14, _late_cancellation),
    "cancellation at the 24 h edge": (5, _cancellation_at_the_edge),
    "early cancellation": (8, _early_cancellation),
    "late reschedule": (10, _late_reschedule),
    "early reschedule": (6, _early_reschedule),
    "reschedule into short notice": (3, _reschedule_into_short_notice),
    "practice or system edits": (7, _practice_edits),
    "silent patient edits": (5, _silent_patient_edits),
    "cancel and rebook": (4, _cancel_and_rebook),
    "inserted as cancelled": (2, _inserted_cancelled),
    "deleted": (3, _deleted),
    "TTL expiry": (4, _ttl_expiry),
    "malformed": (3, _malformed),
}


@dataclass
class Plan:
    calendars: list[Calendar]
    calendar_of: dict[str, Calendar]  # by appointment id
    writes: list[Write]  # in the order the platform makes them

    def expected(self) -> Counter[tuple[str, int, Kind, Channel]]:
        """(appointment, write, kind, channel) for every alert the writes ought to produce."""
        expected: Counter[tuple[str, int, Kind, Channel]] = Counter()
        for write in self.writes:
            if write.alert is not None:
                for channel in self.calendar_of[write.appointment_id].channels:
                    expected[(write.appointment_id, write.number, write.alert, channel)] += 1
        return expected

    def summary(self) -> str:
        alerting = sum(1 for write in self.writes if write.alert)
        malformed = sum(1 for write in self.writes if write.malformed and not write.poison)
        poison = sum(1 for write in self.writes if write.poison)
        by_channel = Counter(channel for (_, _, _, channel), n in self.expected().items() for _ in range(n))
        kinds = Counter(write.alert for write in self.writes if write.alert)
        return (
            f"writes: {len(self.writes)} ({alerting} should alert: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
            + f"; {malformed} malformed; {poison} poison; "
            f"{len(self.writes) - alerting - malformed - poison} silent) on "
            f"{len(self.calendars)} calendars; expected alerts: "
            + ", ".join(f"{channel} {n}" for channel, n in sorted(by_channel.items()))
        )

    def malformed(self) -> set[str]:
        return {write.appointment_id for write in self.writes if write.malformed}

    def poison(self) -> set[str]:
        return {write.appointment_id for write in self.writes if write.poison}


def make_plan(changes: int, calendar_count: int, seed: int) -> Plan:
    rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not security
    calendars = make_calendars(calendar_count, rng)
    scripts: list[list[Write]] = []
    calendar_of: dict[str, Calendar] = {}
    total = 0
    number = 0
    while total < changes:
        number += 1
        calendar = rng.choice(calendars)
        writes = script_for(number, calendar, rng)[: changes - total]
        calendar_of[appointment_id(number)] = calendar
        scripts.append(writes)
        total += len(writes)
    # Interleave the appointments' writes, each appointment's in its own order.
    order = [index for index, writes in enumerate(scripts) for _ in writes]
    rng.shuffle(order)
    cursors = [0] * len(scripts)
    interleaved = []
    for index in order:
        interleaved.append(scripts[index][cursors[index]])
        cursors[index] += 1
    return Plan(calendars, calendar_of, interleaved)


def _typed(value: Any) -> dict[str, Any]:
    """A value in DynamoDB's typed JSON; a poison record's values are typed already."""
    if isinstance(value, dict):
        return value
    return {"N": str(value)} if isinstance(value, int) else {"S": str(value)}


# Poison: what the booking platform (or a bug in it) may write that the contract refuses, each of
# a form that passes DynamoDB's own checks. The detector must park each such record on its own,
# in the invocation that reads it, and hold back nothing else of its shard.
POISON: tuple[tuple[str, dict[str, Any]], ...] = (
    ("version", {"S": "one"}),
    ("status", {"S": "gone"}),
    ("changed_by", {"S": "robot"}),
    ("changed_by", {"NULL": True}),
    ("starts_at", {"N": "1789000000"}),
    ("starts_at", {"S": "yesterday"}),
    ("changed_at", {"S": "0001-01-01T00:00:00+14:00"}),
    ("calendar_id", {"S": "cal#1"}),
    ("calendar_id", {"N": "12"}),
    ("patient_first_name", {"M": {"S": {"S": "nested"}}}),
    ("patient_first_name", {"SS": ["Anna", "Jonas"]}),
    ("patient_last_name", {"L": [{"S": "a"}]}),
    ("patient_last_name", {"S": "x" * 150}),
    ("visit_motive", {"B": b"\x00\xff"}),
    ("visit_motive", {"BOOL": True}),
)
POISON_SHARE = 0.01  # of the plan's writes


def mix_in_poison(plan: Plan, rng: random.Random, share: float = POISON_SHARE) -> Plan:
    """The plan with poison records at random places: each an online booking of an appointment
    of its own with one refused value, so each dead letter names its one record."""
    count = max(1, round(len(plan.writes) * share)) if share > 0 else 0
    writes = list(plan.writes)
    calendar_of = dict(plan.calendar_of)
    first = max(int(key.removeprefix("apt-")) for key in calendar_of) + 1 if calendar_of else 1
    for number in range(first, first + count):
        calendar = rng.choice(plan.calendars)
        script = _Script(number, calendar, SCENARIO_START + timedelta(days=rng.uniform(12, 60)), rng)
        script.book(script.starts_at - _hours(rng.uniform(0.25, 23.9)), "patient", "poison")
        field_name, value = rng.choice(POISON)
        (write,) = script.writes
        values = {**write.values, field_name: value}
        writes.insert(
            rng.randrange(len(writes) + 1),
            Write(number, 1, f"poison: {field_name}", "put", values, None, malformed=True, poison=True),
        )
        calendar_of[appointment_id(number)] = calendar
    return Plan(plan.calendars, calendar_of, writes)


def write_to_table(dynamodb: Any, table: str, write: Write) -> None:
    """The write as the booking platform makes it: PutItem, UpdateItem (version + 1) or DeleteItem."""
    key = {"appointment_id": {"S": write.appointment_id}}
    if write.operation == "delete":
        dynamodb.delete_item(TableName=table, Key=key)
        return
    item = {k: _typed(v) for k, v in write.values.items()}
    if write.operation == "put":
        dynamodb.put_item(TableName=table, Item=item)
        return
    names = {f"#a{index}": name for index, name in enumerate(item)}
    values = {f":a{index}": value for index, value in enumerate(item.values())}
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(item))) + " ADD #v :one",
        ExpressionAttributeNames={**names, "#v": "version"},
        ExpressionAttributeValues={**values, ":one": {"N": "1"}},
    )


# ------------------------------------------------------------------------------------------------
# Fault injection on the functions' own boto3 clients
# ------------------------------------------------------------------------------------------------
class Fault(StrEnum):
    THROTTLING = "throttling"
    SERVER_ERROR = "5xx"
    CONNECT_TIMEOUT = "connect-timeout"
    # The call took effect, its response is lost. On SNS Publish or SES SendEmail that is the
    # exactly-once window's lost response: the message goes out again, counted as in_window.
    READ_TIMEOUT = "read-timeout-after-effect"
    PARTIAL_BATCH = "partial-batch-failed"  # SendMessageBatch entries not sent, listed in Failed
    KILL = "killed-mid-batch"  # the execution environment dies (before or after the call)
    # The call takes a while, within what its SDK time-outs allow (wiring.LONGEST_CALL_SECONDS),
    # on the invocation's clock: the functions' time budgets must keep it inside the time-out.
    SLOW = "slow"
    # The call outlasts the invocation (a DNS lookup or a trickling response, which no SDK
    # time-out bounds): Lambda stops the invocation at its deadline, before or after the effect.
    HUNG = "hung-past-time-out"
    # The execution environment dies between SNS/SES accepting a message and the completion of
    # its idempotency record (or, if that failed, its early delete): the documented window.
    KILL_IN_WINDOW = "killed-after-acceptance"
    OUTAGE = "sns-outage"  # every SNS Publish refused, throttled or 5xx, for the outage's length


# How often each class is picked when a call is faulted (among those that apply to the call).
# OUTAGE is not picked: it is on for a stretch of the run (FaultInjector.start_outage).
# The classes that end an invocation weigh 1.3 together, about the share crashes had alone
# before slow and hung calls came: each one fails its whole batch, and a message whose batches
# fail ten times is moved to the dead-letter queue by SQS without a reason.
FAULT_WEIGHTS = {
    Fault.THROTTLING: 3,
    Fault.SERVER_ERROR: 2,
    Fault.CONNECT_TIMEOUT: 2,
    Fault.READ_TIMEOUT: 2,
    Fault.PARTIAL_BATCH: 3,
    Fault.KILL: 0.7,
    Fault.SLOW: 2,
    Fault.HUNG: 0.3,
    Fault.KILL_IN_WINDOW: 0.3,
}
# Faults that end the invocation: a crash, or a time-out in emulated time.
_ENDS_INVOCATION = {Fault.KILL, Fault.HUNG, Fault.KILL_IN_WINDOW}
_THROTTLING_CODES = {
    "dynamodb": "ThrottlingException",
    "sqs": "ThrottlingException",
    "sns": "Throttling",
    "sesv2": "TooManyRequestsException",
}
# The send APIs, which take no idempotency key.
_PROVIDERS = {("sns", "Publish"): "sms", ("sesv2", "SendEmail"): "email"}
# An alert on one channel, as the window's bookkeeping knows it: (appointment, write, channel).
WindowKey = tuple[str, int, Channel]


@dataclass
class _Call:
    target: str
    fault: Fault | None
    kill_after: bool = False  # KILL, KILL_IN_WINDOW, HUNG: after the call took effect
    withheld: list[dict[str, Any]] = field(default_factory=list)  # partial batch: entries not sent
    nothing_left: bool = False
    unit: WindowKey | None = None  # SNS/SES: the alert this call sends


@dataclass
class _Window:
    """The sender's exactly-once window in the running invocation, one alert at a time.

    An alert enters it when SNS/SES accepted it, and leaves it when its idempotency record's
    completion took effect, or, when the sender saw that completion fail, when its early delete
    took effect. An alert whose early delete failed stays in it until the invocation ends (then
    Lambda deletes its message)."""

    open: list[WindowKey] = field(default_factory=list)
    awaiting_completion: WindowKey | None = None
    # Completion failed as the sender saw it: the next DeleteMessage is this alert's early delete
    # (None inside: the completion did take effect, a read time-out after it).
    awaiting_delete: tuple[WindowKey | None] | None = None

    def close(self, unit: WindowKey | None) -> None:
        if unit is not None and unit in self.open:
            self.open.remove(unit)


class FaultInjector:
    """Registers on boto3's default session, before the handlers build their clients, and fails
    the functions' calls only while an invocation runs (:meth:`active`).

    Every fault is allowed everywhere, the exactly-once window included: a crash inside it (or a
    lost response from SNS/SES) allows that one alert one more delivery (:attr:`in_window`), and
    any other duplicate counts as a duplicate. The functions run on :attr:`clock`, on which only
    slow and hung calls take time."""

    def __init__(
        self,
        rate: float,
        rng: random.Random,
        tables: Mapping[str, str],
        queues: Mapping[str, str],
        *,
        time_scale: float = 1.0,
    ):
        self.rate = rate
        self.rng = rng
        self._tables = dict(tables)  # physical name -> target name
        self._queues = dict(queues)  # queue URL -> target name for SendMessage
        self._time_scale = time_scale
        self._active = False
        self.clock = ScenarioClock()
        self._window = _Window()
        self.calls: Counter[str] = Counter()
        self.faults: Counter[tuple[str, Fault]] = Counter()
        # The alerts a fault inside the window may send twice, with how many extra deliveries.
        self.in_window: Counter[WindowKey] = Counter()
        self.timeouts = 0  # invocations stopped at their deadline (hung or slow calls)
        self.slow_timeouts = 0  # of those, reached with slow calls alone: a time budget is wrong
        # SNS down: every Publish fails between these two time.monotonic() values.
        self._outage: tuple[float, float] | None = None
        self._outage_minutes: float | None = None  # armed, to start at the next Publish
        self._parked: set[tuple[str, int]] = set()  # (appointment, write) the sender parked
        self.outage_refused: set[tuple[str, int]] = set()  # (appointment, write) SNS refused
        self._session = boto3._get_default_session()  # the handlers' clients come from it
        # Every invocation's calls in order, with the faults injected and the alerts SNS/SES
        # accepted ("accepted Pat00012w3"), so that a duplicate or a loss can be traced.
        self.invocation = 0
        self.trail: dict[int, list[str]] = {}

    @contextlib.contextmanager
    def installed(self) -> Iterator[FaultInjector]:
        handlers: tuple[tuple[str, Any], ...] = (
            ("before-parameter-build", self._before_parameter_build),
            ("before-call", self._before_call),
            ("after-call", self._after_call),
        )
        for event, handler in handlers:
            self._session.events.register(event, handler, unique_id=f"chaos-{event}")
        try:
            yield self
        finally:
            for event, _handler in handlers:
                self._session.events.unregister(event, unique_id=f"chaos-{event}")

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        self._active, self._window = True, _Window()
        self.invocation += 1
        try:
            yield
        finally:
            self._active, self._window = False, _Window()

    def start_outage(self, minutes: float) -> None:
        """SNS down from its next Publish on, for ``minutes`` of chaos time (wall time / time
        scale): its clock starts with the first SMS it refuses, whatever the writes cost.
        ``math.inf``: until the sender has parked every SMS SNS refused (a test's outage, which
        CPU load cannot shorten)."""
        self._outage_minutes = minutes

    def outage_over(self) -> bool:
        if self._outage_minutes is not None:
            return False
        refused = self.outage_refused
        if self._outage is not None and self._outage[1] == math.inf and refused and refused <= self._parked:
            self._outage = (self._outage[0], time.monotonic())
        return self._outage is None or time.monotonic() >= self._outage[1]

    def _in_outage(self) -> bool:
        now = time.monotonic()
        if self._outage_minutes is not None:
            self._outage = (now, now + self._outage_minutes * 60 * self._time_scale)
            self._outage_minutes = None
        return not self.outage_over() and self._outage is not None and self._outage[0] <= now

    # -- Which call is it --------------------------------------------------------------------------
    def _target(self, service: str, operation: str, params: Mapping[str, Any]) -> str:
        if (service, operation) == ("sns", "Publish"):
            return "sns publish"
        if (service, operation) == ("sesv2", "SendEmail"):
            return "ses send"
        if service == "sqs":
            if operation == "SendMessageBatch":
                return "queue send"
            if operation == "SendMessage":
                return self._queues.get(str(params.get("QueueUrl")), "sqs send")
            if operation == "ChangeMessageVisibility":
                return "sender back-off"
            if operation == "DeleteMessage":
                return "sender early delete"
        if service == "dynamodb":
            table = params.get("TableName") or next(iter(params.get("RequestItems") or {}), "")
            return self._tables.get(str(table), f"dynamodb {operation}")
        return f"{service} {operation}"

    def _allowed(self, service: str, operation: str) -> list[Fault]:
        allowed = [
            Fault.THROTTLING,
            Fault.SERVER_ERROR,
            Fault.CONNECT_TIMEOUT,
            Fault.READ_TIMEOUT,
            Fault.SLOW,
            Fault.HUNG,
        ]
        if (service, operation) == ("sqs", "SendMessageBatch"):
            allowed.append(Fault.PARTIAL_BATCH)
        # A crash is in the window or not: each class keeps to its side. After SNS/SES accepted
        # its own message, a provider call can always be killed inside the window.
        if self._window.open or (service, operation) in _PROVIDERS:
            allowed.append(Fault.KILL_IN_WINDOW)
        if not self._window.open:
            allowed.append(Fault.KILL)
        return allowed

    def _pick(self, target: str, allowed: Sequence[Fault]) -> Fault | None:
        # Classes this target has not seen yet are tried at a higher rate, so that even a short
        # run exercises every class on every kind of call (the test checks that it did).
        unseen = [fault for fault in allowed if not self.faults[(target, fault)]]
        rate = max(self.rate, 0.25) if unseen and self.rate > 0 else self.rate
        if self.rng.random() >= rate:
            return None
        pool = unseen or list(allowed)
        return self.rng.choices(pool, weights=[FAULT_WEIGHTS[f] for f in pool])[0]

    # -- botocore event handlers -------------------------------------------------------------------
    def _before_parameter_build(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if not self._active:
            return
        service, operation = model.service_model.service_id.hyphenize(), model.name
        target = self._target(service, operation, params)
        self.calls[target] += 1
        unit = self._unit_sent(service, operation, params)
        if target == "dlq parking" and (token := TOKEN.search(str(params.get("MessageBody", "")))):
            self._parked.add((appointment_id(int(token.group(1))), int(token.group(2))))
        if target == "sns publish" and self._in_outage():
            fault: Fault | None = Fault.OUTAGE
            if unit is not None:
                self.outage_refused.add(unit[:2])
        else:
            fault = self._pick(target, self._allowed(service, operation))
        call = _Call(target, fault, unit=unit)
        if fault is not None:
            self.faults[(target, fault)] += 1
        if fault is Fault.PARTIAL_BATCH:
            entries = list(params.get("Entries") or [])
            withheld = self.rng.sample(entries, self.rng.randint(1, len(entries))) if entries else []
            params["Entries"] = [entry for entry in entries if entry not in withheld]
            call.withheld, call.nothing_left = withheld, not params["Entries"]
        if fault is Fault.KILL:
            # Killing a send after its acceptance would be inside the window: KILL_IN_WINDOW.
            call.kill_after = (service, operation) not in _PROVIDERS and self.rng.random() < 0.5
        if fault is Fault.KILL_IN_WINDOW:
            call.kill_after = (service, operation) in _PROVIDERS or self.rng.random() < 0.5
        if fault is Fault.HUNG:
            call.kill_after = self.rng.random() < 0.5
        context["chaos"] = call
        self.trail.setdefault(self.invocation, []).append(
            target if fault is None else f"{target} [{fault.value}{' after' if call.kill_after else ''}]"
        )

    def _unit_sent(self, service: str, operation: str, params: Mapping[str, Any]) -> WindowKey | None:
        channel = _PROVIDERS.get((service, operation))
        if channel is None:
            return None
        token = TOKEN.search(accepted_text(service, params))
        return (appointment_id(int(token.group(1))), int(token.group(2)), channel) if token else None

    def _before_call(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        call: _Call | None = context.get("chaos")
        if call is None or call.fault is None:
            return None
        service = model.service_model.service_id.hyphenize()
        if call.fault is Fault.SLOW:
            self._wait(self.rng.uniform(0.2, 1.0) * wiring.LONGEST_CALL_SECONDS, slow=True)
            return None
        if call.fault in _ENDS_INVOCATION and not call.kill_after:
            self._end_invocation(call)
        if call.fault is Fault.CONNECT_TIMEOUT:
            self._outcome(call, took_effect=False, failed=True)
            raise ConnectTimeoutError(endpoint_url=f"https://{service}.chaos.invalid")
        if call.fault is Fault.THROTTLING:
            return _error_response(_THROTTLING_CODES.get(service, "ThrottlingException"), 400)
        if call.fault is Fault.SERVER_ERROR:
            code, status = self.rng.choice([("InternalError", 500), ("ServiceUnavailable", 503)])
            return _error_response(code, status)
        if call.fault is Fault.OUTAGE:
            code, status = self.rng.choice(
                [("Throttling", 400), ("InternalError", 500), ("ServiceUnavailable", 503)]
            )
            return _error_response(code, status)
        if call.fault is Fault.PARTIAL_BATCH and call.nothing_left:
            # Every entry withheld: SQS still answers 200, with all of them in Failed.
            return _ok_response({"Successful": [], "Failed": []})
        return None

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        call: _Call | None = context.get("chaos")
        if call is None:
            return
        error = "Error" in parsed
        lost_response = call.fault is Fault.READ_TIMEOUT and not error
        self._outcome(call, took_effect=not error, failed=error or lost_response)
        if call.unit is not None and not error:
            number, write = call.unit[0].removeprefix("apt-"), call.unit[1]
            self.trail[self.invocation].append(f"accepted Pat{number}w{write}")
        if call.fault is Fault.PARTIAL_BATCH:
            parsed.setdefault("Failed", []).extend(
                {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "chaos"}
                for entry in call.withheld
            )
        elif lost_response:
            service = model.service_model.service_id.hyphenize()
            raise ReadTimeoutError(endpoint_url=f"https://{service}.chaos.invalid")
        elif call.fault in _ENDS_INVOCATION and call.kill_after:
            self._end_invocation(call)

    # -- The window and the invocation's end -------------------------------------------------------
    def _outcome(self, call: _Call, *, took_effect: bool, failed: bool) -> None:
        """What the call did, and what the sender saw (``failed``), for the window's bookkeeping."""
        window = self._window
        if call.unit is not None:
            if took_effect and failed:
                self.in_window[call.unit] += 1  # a lost response: the sender will send it again
            elif took_effect:
                window.open.append(call.unit)
                window.awaiting_completion = call.unit
        elif call.target == "idempotency" and window.awaiting_completion is not None:
            unit, window.awaiting_completion = window.awaiting_completion, None
            if took_effect:
                window.close(unit)  # complete: whatever comes again finds it
            if failed:
                window.awaiting_delete = (None if took_effect else unit,)
        elif call.target == "sender early delete" and window.awaiting_delete is not None:
            (deleting,), window.awaiting_delete = window.awaiting_delete, None
            if took_effect:
                window.close(deleting)

    def _wait(self, template_seconds: float, *, slow: bool) -> None:
        """The call takes this long (in the template's time) on the invocation's clock."""
        try:
            self.clock.advance(template_seconds * self._time_scale)
        except InvocationTimedOut:
            self.timeouts += 1
            self.slow_timeouts += slow
            self._crashed()
            raise

    def _end_invocation(self, call: _Call) -> None:
        if call.fault is Fault.HUNG:
            # Longer than anything is left of the invocation: it times out inside this call.
            self._wait(self.clock.remaining() / self._time_scale + 1, slow=False)
        self._crashed()
        raise ExecutionEnvironmentKilled(
            f"chaos: killed {'after' if call.kill_after else 'before'} {call.target}"
        )

    def _crashed(self) -> None:
        """Every alert inside the window now may go out once more."""
        for unit in self._window.open:
            self.in_window[unit] += 1
        self._window = _Window()


def accepted_text(service: str, params: Mapping[str, Any]) -> str:
    """The text that carries an accepted alert's token: the SMS, or the e-mail's subject."""
    if service == "sns":
        return str(params.get("Message", ""))
    raw = (params.get("Content") or {}).get("Raw", {}).get("Data", b"")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return str(message["Subject"] or "")


def _error_response(code: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {
        "Error": {"Code": code, "Message": "injected by chaos"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return AWSResponse("https://chaos.invalid", status, HTTPHeaders(), None), parsed


def _ok_response(body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://chaos.invalid", 200, HTTPHeaders(), None), {
        **body,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


# ------------------------------------------------------------------------------------------------
# What arrived, read from SNS, SES and the feed table; never from the pipeline's logs
# ------------------------------------------------------------------------------------------------
Unit = tuple[str, int, Kind, Channel]


def kind_in(text: str, locale: Locale) -> Kind | None:
    """The kind of alert a text announces, by the calendar's language's headline."""
    words = words_for(locale)
    for kind in ("booked", "cancelled", "rescheduled"):
        prefix = words.headlines[kind].split("{", 1)[0].strip()
        if prefix in text or (gsm7_spelling(prefix) or prefix) in text:
            return kind
    return None


@dataclass
class Arrivals:
    units: Counter[Unit] = field(default_factory=Counter)
    unattributable: Counter[Channel] = field(default_factory=Counter)  # no token, wrong kind or address

    def add(self, plan: Plan, channel: Channel, text: str, recipient: str | None) -> None:
        token = TOKEN.search(text)
        calendar = plan.calendar_of.get(appointment_id(int(token.group(1)))) if token else None
        if token is None or calendar is None:
            self.unattributable[channel] += 1
            return
        wanted = {"sms": calendar.settings.alert_mobile, "email": calendar.settings.alert_email}
        kind = kind_in(text, calendar.settings.locale)
        if kind is None or (
            channel != "in_app" and (recipient or "").lower() != (wanted[channel] or "").lower()
        ):
            self.unattributable[channel] += 1
            return
        self.units[(appointment_id(int(token.group(1))), int(token.group(2)), kind, channel)] += 1


def arrivals(runtime: LocalRuntime, plan: Plan) -> Arrivals:
    found = Arrivals()
    region = runtime.clients.region
    for phone, text in sns_backends[LOCAL_ACCOUNT_ID][region].sms_messages.values():
        found.add(plan, "sms", text, phone)
    for message in ses_backends[LOCAL_ACCOUNT_ID][region].sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is None:
            found.unattributable["email"] += 1
            continue
        parsed = email.message_from_string(raw, policy=email.policy.default)
        found.add(plan, "email", str(parsed["Subject"] or ""), str(parsed["To"] or ""))
    for entry in runtime.feed():
        calendar = plan.calendar_of.get(str(entry.get("appointment_id")))
        headline = str(entry.get("headline", ""))
        if calendar is not None and entry.get("kind") != kind_in(headline, calendar.settings.locale):
            found.unattributable["in_app"] += 1
            continue
        found.add(plan, "in_app", headline, None)
    return found


@dataclass
class DeadLetterCount:
    total: int = 0
    parked_as_expected: int = 0  # malformed records parked by the detector with a reason
    poison_parked: int = 0  # of those, poison records
    # SMS the sender gave up on while SNS was down (or that SQS moved after a crash on their last
    # receive while SNS was down): the operator redrives them once the outage is over.
    parked_in_outage: int = 0
    # Notifications the sender gave up on after their tenth attempt for another transient reason
    # (the idempotency store or a provider failing each time, or crashes and time-outs using up
    # the receives): parked with that reason, the alarm fires, the operator redrives them.
    given_up: int = 0
    without_reason: int = 0  # Lambda on-failure records, SQS redrives: alerts may be lost
    # Notifications SQS moved after maxReceiveCount; _compare counts those whose alert arrived
    # anyway as moved_after_delivery, the others as without_reason.
    moved_by_sqs: list[WindowKey] = field(default_factory=list)
    moved_after_delivery: int = 0
    unexpected: list[str] = field(default_factory=list)  # each unexplained letter, in short
    parked_unexpectedly: int = 0  # parked with a reason, but the generator wrote nothing wrong
    malformed_not_parked: int = 0
    poison_not_parked: int = 0
    sources: Counter[str] = field(default_factory=Counter)

    @property
    def unexplained(self) -> int:
        return self.without_reason + self.parked_unexpectedly + self.malformed_not_parked


def count_dead_letters(
    runtime: LocalRuntime, plan: Plan, outage_refused: set[tuple[str, int]] | None = None
) -> DeadLetterCount:
    count = DeadLetterCount()
    parked: set[str] = set()
    malformed, poison = plan.malformed(), plan.poison()
    for letter in runtime.dead_letters.read():
        count.total += 1
        source = str(letter.get("source"))
        count.sources[source] += 1
        if _sent_through_the_outage(letter, outage_refused or set()):
            count.parked_in_outage += 1
            continue
        if source == "sender" and "gave up after" in str(letter.get("reason") or ""):
            count.given_up += 1
            continue
        if source == "sqs-redrive" and (moved := _notification_unit(letter.get("payload"))):
            # Received ten times without being deleted: every batch it was in crashed or timed
            # out, or handed it back. Harmless if its alert went out all the same (_compare).
            count.moved_by_sqs.append(moved)
            continue
        if source not in ("detector", "sender"):
            # An on-failure record names a condition, a redrive nothing: no reason from the code.
            count.without_reason += 1
            count.unexpected.append(_described(letter))
            continue
        appointment = _parked_appointment(letter.get("payload"))
        if source == "detector" and letter.get("reason") and appointment in malformed:
            count.parked_as_expected += 1
            count.poison_parked += appointment in poison
            parked.add(appointment)
        else:
            count.parked_unexpectedly += 1
            count.unexpected.append(_described(letter))
    count.malformed_not_parked = len(malformed - parked)
    count.poison_not_parked = len(poison - parked)
    return count


def _sent_through_the_outage(letter: Mapping[str, Any], outage_refused: set[tuple[str, int]]) -> bool:
    """An SMS that SNS refused during the outage, parked by the sender after its last attempt with
    SNS's error as the reason, or moved by SQS after a crash on that last receive."""
    source, reason = str(letter.get("source")), str(letter.get("reason") or "")
    if source == "sender":
        if not (reason.startswith("sns.Publish") and "gave up after" in reason):
            return False
        body = str((letter.get("payload") or {}).get("body", ""))
    elif source == "sqs-redrive":
        body = json.dumps(letter.get("payload"), default=str)
    else:
        return False
    token = TOKEN.search(body)
    return token is not None and (appointment_id(int(token.group(1))), int(token.group(2))) in outage_refused


def _described(letter: Mapping[str, Any]) -> str:
    """A dead letter in one line for the summary: where from, why, and whose alert."""
    token = TOKEN.search(json.dumps(letter.get("payload"), default=str))
    return f"{letter.get('source')}: {letter.get('reason')} ({token.group(0) if token else 'no token'})"


def _notification_unit(payload: Any) -> WindowKey | None:
    """The alert and channel of a notification SQS moved as it was."""
    token = TOKEN.search(json.dumps(payload, default=str))
    channel = payload.get("channel") if isinstance(payload, Mapping) else None
    if token is None or channel not in ("sms", "email", "in_app"):
        return None
    return (appointment_id(int(token.group(1))), int(token.group(2)), str(channel))


def _parked_appointment(payload: Any) -> str | None:
    try:
        return str(payload["dynamodb"]["Keys"]["appointment_id"]["S"])
    except (KeyError, TypeError):
        return None


def letter_unit(body: str) -> WindowKey | None:
    """The alert and channel a notification's dead letter is about, by the patient's token."""
    token = TOKEN.search(body)
    # A letter the sender parked holds the notification as escaped JSON inside its payload;
    # one SQS moved after maxReceiveCount is the notification itself.
    channel = re.search(r'\\?"channel\\?"\s*:\s*\\?"(sms|email|in_app)', body)
    if token is None or channel is None:
        return None
    return (appointment_id(int(token.group(1))), int(token.group(2)), channel.group(1))


def redrive_after_outage(runtime: LocalRuntime) -> tuple[int, set[WindowKey]]:
    """What the operator does once SNS is back (docs/operations.md): redrive the notifications'
    dead letters. Returns how many went back, and the alerts redrive held back as superseded."""
    outcomes = redrive(local_targets(runtime), dry_run=False, queues=("notifications",))
    superseded = {
        unit
        for outcome in outcomes
        if outcome.superseded is not None and (unit := letter_unit(outcome.letter.body)) is not None
    }
    return sum(outcome.moved for outcome in outcomes), superseded


# ------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------
@dataclass
class ChaosResult:
    expected: int
    delivered: int
    duplicates: int
    lost: int
    dead_letters: DeadLetterCount
    unexpected_deliveries: int
    faults: Counter[tuple[str, Fault]]
    calls: Counter[str]
    lost_units: list[Unit]
    duplicate_units: list[Unit]
    seconds: float
    writes: int
    plan_summary: str = ""
    # for each duplicated unit, the trails of the invocations that sent it
    duplicate_trails: dict[Unit, list[list[str]]] = field(default_factory=dict)
    # Second deliveries of alerts a fault inside the exactly-once window allowed one more.
    in_window: int = 0
    in_window_units: list[Unit] = field(default_factory=list)
    # Expected alerts the operator's redrive after the outage held back: a later change made
    # them untrue (redrive's superseded check). Neither delivered nor lost.
    superseded: int = 0
    redriven: int = 0
    timeouts: int = 0
    slow_timeouts: int = 0  # time-outs reached with slow calls alone: a time budget is wrong
    records_retried: int = 0  # stream records handed to the detector more than once

    @property
    def unexplained(self) -> int:
        return self.unexpected_deliveries + self.dead_letters.unexplained + self.slow_timeouts

    @property
    def ok(self) -> bool:
        return (
            self.delivered + self.superseded == self.expected
            and self.duplicates == 0
            and self.lost == 0
            and self.unexplained == 0
        )

    def last_line(self) -> str:
        return "chaos: " + _figures(
            self.expected,
            self.delivered,
            self.duplicates,
            self.in_window,
            self.superseded,
            self.lost,
            self.dead_letters.total,
            self.unexplained,
        )


def _figures(  # noqa: PLR0917 - the last line's figures, in its order
    expected: int,
    delivered: int,
    duplicates: int,
    in_window: int,
    superseded: int,
    lost: int,
    dead_letters: int,
    unexplained: int,
) -> str:
    return (
        f"expected={expected} delivered={delivered} duplicates={duplicates} in_window={in_window} "
        f"superseded={superseded} lost={lost} dead_letters={dead_letters} unexplained={unexplained}"
    )


def run(
    *,
    changes: int = DEFAULT_CHANGES,
    calendars: int = DEFAULT_CALENDARS,
    seed: int = DEFAULT_SEED,
    fault_rate: float = DEFAULT_FAULT_RATE,
    poison_share: float = POISON_SHARE,
    outage_minutes: float = OUTAGE_MINUTES,
    outage_at: float = OUTAGE_AT,
    time_scale: float = CHAOS_TIME_SCALE,
    parameter_overrides: Mapping[str, str] | None = None,
    lambda_logs: TextIO | None = None,
    stream_mapping_changes: Mapping[str, Any] | None = None,
    injector_type: type[FaultInjector] = FaultInjector,
) -> ChaosResult:
    """One chaos run. ``stream_mapping_changes`` is for what-if runs only (e.g. a proposed
    ``MaximumRetryAttempts``); the default runs the template's own settings. SNS goes down for
    ``outage_minutes`` of chaos time once ``outage_at`` of the writes are made (0: no outage)."""
    started = time.monotonic()
    plan = mix_in_poison(
        make_plan(changes, calendars, seed),
        random.Random(f"poison-{seed}"),  # noqa: S311 - seeded simulation
        poison_share,
    )
    overrides = {**CHAOS_PARAMETERS, **(parameter_overrides or {})}
    with LocalRuntime.embedded(
        parameter_overrides=overrides,
        clock=SCENARIO_CLOCK.timestamp,
        lambda_logs=lambda_logs,
        stream_mappings=(
            (lambda stack: [replace(m, **stream_mapping_changes) for m in stack.stream_mappings()])
            if stream_mapping_changes
            else None
        ),
    ) as runtime:
        runtime.put_calendars(calendar.settings for calendar in plan.calendars if calendar.stored)
        stack = runtime.stack
        injector = injector_type(
            fault_rate,
            random.Random(f"faults-{seed}"),  # noqa: S311 - seeded simulation
            tables={
                stack.ref("CalendarSettingsTable"): "settings read",
                stack.ref("IdempotencyTable"): "idempotency",
                stack.ref("AlertsFeedTable"): "feed write",
                stack.ref("DeliveryLogTable"): "delivery log",
            },
            queues={
                stack.attribute("StreamDeadLetterQueue", "QueueUrl"): "dlq parking",
                stack.attribute("NotificationDeadLetterQueue", "QueueUrl"): "dlq parking",
            },
            time_scale=time_scale,
        )
        for logical_id in ("DetectorFunction", "SenderFunction"):
            function = runtime.function(logical_id)
            function.timeout_seconds *= time_scale
            # The functions run on the injector's clock, on which only slow and hung calls take
            # time (CPU and moto's calls do not shrink with chaos time): time-outs are enforced
            # on it, and the time budgets see what the faults used up.
            function.clock = injector.clock
            function.invocation_scope = injector.active
        dynamodb, table = runtime.clients("dynamodb"), runtime.appointments_table()
        outage_chunk = round(len(plan.writes) * outage_at / WRITE_CHUNK) * WRITE_CHUNK
        redriven, superseded = 0, set[WindowKey]()
        with (
            injector.installed(),
            mock.patch.object(wiring, "LONGEST_CALL_SECONDS", wiring.LONGEST_CALL_SECONDS * time_scale),
        ):
            for start in range(0, len(plan.writes), WRITE_CHUNK):
                if outage_minutes > 0 and start == outage_chunk:
                    injector.start_outage(outage_minutes)
                for write in plan.writes[start : start + WRITE_CHUNK]:
                    write_to_table(dynamodb, table, write)
                # Between chunks, messages waiting out a (scaled) visibility timeout keep waiting
                # while the next writes arrive; the last drain waits for them.
                runtime.drain(time_scale=time_scale, wait_for_held=False, max_invocations=MAX_INVOCATIONS)
            runtime.drain(time_scale=time_scale, max_invocations=MAX_INVOCATIONS)
            while not injector.outage_over():  # a short run may end before the outage does
                time.sleep(0.05)
                runtime.drain(time_scale=time_scale, max_invocations=MAX_INVOCATIONS)
            dead = count_dead_letters(runtime, plan, injector.outage_refused)
            # What the dead-letter alarm asks of the operator (docs/operations.md): redrive, once
            # the outage is over, what the sender gave up on and what SQS moved.
            if dead.parked_in_outage or dead.given_up or dead.moved_by_sqs:
                redriven, superseded = redrive_after_outage(runtime)
                runtime.drain(time_scale=time_scale, max_invocations=MAX_INVOCATIONS)
        found = arrivals(runtime, plan)
        retried = _records_retried(runtime)
    result = _compare(plan, found, dead, injector, superseded, redriven, time.monotonic() - started)
    result.records_retried = retried
    return result


def _records_retried(runtime: LocalRuntime) -> int:
    """Stream records the detector was handed more than once (a retried or bisected batch)."""
    seen = Counter(
        record["dynamodb"]["SequenceNumber"]
        for poller in runtime.stream_pollers
        for event in poller.invocations
        for record in event["Records"]
    )
    return sum(1 for n in seen.values() if n > 1)


def _compare(  # noqa: PLR0917 - one run's pieces
    plan: Plan,
    found: Arrivals,
    dead: DeadLetterCount,
    injector: FaultInjector,
    superseded_keys: set[WindowKey],
    redriven: int,
    seconds: float,
) -> ChaosResult:
    expected = plan.expected()
    observed = found.units
    arrived = {(a, w, c) for (a, w, _, c), n in observed.items() if n}
    for moved in dead.moved_by_sqs:
        if moved in arrived:
            dead.moved_after_delivery += 1
        else:
            dead.without_reason += 1
    # Only what did not arrive: a copy of an alert may be parked (and held back by the redrive)
    # after the alert itself went out.
    superseded = Counter(
        {
            unit: max(0, n - observed[unit])
            for unit, n in expected.items()
            if (unit[0], unit[1], unit[3]) in superseded_keys
        }
    )
    duplicates = in_window = 0
    duplicated: list[Unit] = []
    in_window_units: list[Unit] = []
    for unit, n in observed.items():
        extra = n - expected[unit] if unit in expected else 0
        if extra <= 0:
            continue
        allowed = min(extra, injector.in_window[(unit[0], unit[1], unit[3])])
        in_window += allowed
        duplicates += extra - allowed
        (duplicated if extra > allowed else in_window_units).append(unit)
    wanted = {unit: n - superseded[unit] for unit, n in expected.items()}
    return ChaosResult(
        expected=sum(expected.values()),
        delivered=sum(min(n, observed[unit]) for unit, n in expected.items()),
        duplicates=duplicates,
        lost=sum(max(0, n - observed[unit]) for unit, n in wanted.items()),
        dead_letters=dead,
        unexpected_deliveries=sum(n for unit, n in observed.items() if unit not in expected)
        + sum(found.unattributable.values()),
        faults=injector.faults,
        calls=injector.calls,
        lost_units=sorted(unit for unit, n in wanted.items() if observed[unit] < n),
        duplicate_units=sorted(duplicated),
        duplicate_trails={unit: _trails_of(injector, unit) for unit in [*duplicated, *in_window_units]},
        seconds=seconds,
        writes=len(plan.writes),
        plan_summary=plan.summary(),
        in_window=in_window,
        in_window_units=sorted(in_window_units),
        superseded=sum(superseded.values()),
        redriven=redriven,
        timeouts=injector.timeouts,
        slow_timeouts=injector.slow_timeouts,
    )


def _trails_of(injector: FaultInjector, unit: Unit) -> list[list[str]]:
    appointment, write, _, _ = unit
    token = f"accepted Pat{appointment.removeprefix('apt-')}w{write}"
    return [trail for trail in injector.trail.values() if token in trail]


def print_summary(result: ChaosResult, out: TextIO) -> None:
    out.write(result.plan_summary + "\n")
    targets = sorted(result.calls)
    classes = list(Fault)
    width = max(len(t) for t in [*targets, "call"]) + 2
    out.write("faults injected (rows: the pipeline's calls; columns: fault classes)\n")
    out.write(
        "call".ljust(width)
        + "calls".rjust(7)
        + "".join(c.value.rjust(len(c.value) + 2) for c in classes)
        + "\n"
    )
    for target in targets:
        cells = "".join(str(result.faults[(target, c)]).rjust(len(c.value) + 2) for c in classes)
        out.write(target.ljust(width) + str(result.calls[target]).rjust(7) + cells + "\n")
    totals = "".join(
        str(sum(n for (_, c), n in result.faults.items() if c is f)).rjust(len(f.value) + 2) for f in classes
    )
    out.write("total".ljust(width) + str(sum(result.calls.values())).rjust(7) + totals + "\n")
    dead = result.dead_letters
    sources = ", ".join(f"{source} {n}" for source, n in sorted(dead.sources.items())) or "none"
    out.write(
        f"dead letters: {dead.total} ({sources}); malformed parked with a reason "
        f"{dead.parked_as_expected} (poison {dead.poison_parked}), without a reason "
        f"{dead.without_reason}, moved by SQS after their alert went out {dead.moved_after_delivery}, "
        f"parked unexpectedly {dead.parked_unexpectedly}, malformed never "
        f"parked {dead.malformed_not_parked} (poison {dead.poison_not_parked}); given up by the sender "
        f"after ten attempts {dead.given_up}; SMS parked in the "
        f"SNS outage {dead.parked_in_outage}; redriven after it all {result.redriven}, superseded "
        f"{result.superseded}\n"
    )
    for described in dead.unexpected[:10]:
        out.write(f"  unexplained dead letter: {described}\n")
    out.write(
        f"time-outs: {result.timeouts} (from slow calls alone {result.slow_timeouts}); stream "
        f"records retried {result.records_retried}; second deliveries inside the exactly-once "
        f"window: {result.in_window}\n"
    )
    for label, units in (
        ("lost", result.lost_units),
        ("duplicated", result.duplicate_units),
        ("sent twice inside the window", result.in_window_units),
    ):
        if units:
            shown = ", ".join(f"{a} write {w} {k} {c}" for a, w, k, c in units[:10])
            out.write(f"{label}: {shown}{' ...' if len(units) > 10 else ''}\n")
    for unit in result.duplicate_units:
        out.write(f"invocations that sent {' '.join(map(str, unit))}:\n")
        for trail in result.duplicate_trails.get(unit, []):
            out.write("  " + " > ".join(trail) + "\n")
    out.write(f"wall time: {result.seconds:.1f} s for {result.writes} writes\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m practitioner_alerts_local.chaos",
        description="Appointment changes through the local pipeline under injected AWS faults.",
    )
    parser.add_argument(
        "--changes", type=int, default=DEFAULT_CHANGES, help="appointment writes (default 5000)"
    )
    parser.add_argument("--calendars", type=int, default=DEFAULT_CALENDARS, help="calendars (default 200)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (fixed by default)")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run this many seeds, --seed, --seed + 1, ...; the last line sums them (default 1)",
    )
    parser.add_argument("--fault-rate", type=float, default=DEFAULT_FAULT_RATE, help="share of calls faulted")
    parser.add_argument(
        "--outage-minutes",
        type=float,
        default=OUTAGE_MINUTES,
        help=f"SNS down for this many minutes of chaos time from half-way through the writes "
        f"(default {OUTAGE_MINUTES:g}; 0: none)",
    )
    parser.add_argument(
        "--poison-share", type=float, default=POISON_SHARE, help="poison records, a share of the writes"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds: at least 1")
    out = sys.stdout
    seeds = range(args.seed, args.seed + args.seeds)
    out.write(
        f"chaos: seed={args.seed if args.seeds == 1 else f'{seeds[0]}..{seeds[-1]}'} "
        f"changes={args.changes} calendars={args.calendars} fault_rate={args.fault_rate} "
        f"outage_minutes={args.outage_minutes:g} poison_share={args.poison_share:g}\n"
    )
    out.write(f"chaos: {WINDOW}\n")
    out.write(
        f"chaos: chaos time: the template's time-outs, visibility timeouts and back-off delays "
        f"x 1/{round(1 / CHAOS_TIME_SCALE)}; the functions run on a clock only slow and hung calls move\n"
    )
    out.flush()
    results = []
    for seed in seeds:
        result = run(
            changes=args.changes,
            calendars=args.calendars,
            seed=seed,
            fault_rate=args.fault_rate,
            outage_minutes=args.outage_minutes,
            poison_share=args.poison_share,
        )
        print_summary(result, out)
        if args.seeds > 1:
            out.write(f"seed {seed}: {result.last_line().removeprefix('chaos: ')}\n")
        out.flush()
        results.append(result)
    out.write(_verdict(results) + "\n")
    return 0 if all(result.ok for result in results) else 1


def _verdict(results: Sequence[ChaosResult]) -> str:
    """The last line: one seed's, or every seed's figures added up."""
    if len(results) == 1:
        return results[0].last_line()

    def total(figure: Callable[[ChaosResult], int]) -> int:
        return sum(figure(result) for result in results)

    return "chaos: " + _figures(
        total(lambda r: r.expected),
        total(lambda r: r.delivered),
        total(lambda r: r.duplicates),
        total(lambda r: r.in_window),
        total(lambda r: r.superseded),
        total(lambda r: r.lost),
        total(lambda r: r.dead_letters.total),
        total(lambda r: r.unexplained),
    )


if __name__ == "__main__":
    sys.exit(main())
