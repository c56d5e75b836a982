"""The growth benchmark's own logic: the national population it makes, and how it reads a table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.growth import (
    ClonedSettings,
    Mix,
    Template,
    calendar_for,
    growth_ratio,
    hot_hour,
    service_call,
    super_linear_steps,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _template() -> Template:
    records = []
    for name in ("stream-online-booking.json", "stream-late-cancellation.json"):
        records += json.loads((EVENTS / name).read_text("utf-8"))["Records"]
    appointments = [r["dynamodb"]["Keys"]["appointment_id"]["S"] for r in records]
    calendars = [
        sorted({i["calendar_id"]["S"] for k in ("NewImage", "OldImage") if (i := r["dynamodb"].get(k))})
        for r in records
    ]
    stored = {
        c: {"calendar_id": {"S": c}, "alert_email": {"S": "p@example.com"}} for cs in calendars for c in cs
    }
    return Template([json.dumps(r) for r in records], appointments, calendars, stored, next(iter(stored)))


def test_every_copy_of_the_workload_is_new_appointments_each_keeping_its_calendar() -> None:
    template = _template()  # one appointment: booked online, then cancelled late
    mix = Mix(calendars=100_000, hot=0)

    changes = list(template.changes(10 * len(template.records), mix))

    calendars_of: dict[str, set[str]] = {}
    for change in changes:
        image = change["dynamodb"].get("NewImage") or change["dynamodb"]["OldImage"]
        appointment = change["dynamodb"]["Keys"]["appointment_id"]["S"]
        assert image["appointment_id"]["S"] == appointment
        calendars_of.setdefault(appointment, set()).add(image["calendar_id"]["S"])
    assert len(calendars_of) == 10  # ten copies, each its own appointment
    assert all(len(calendars) == 1 for calendars in calendars_of.values())  # booking and cancellation agree
    for (calendar,) in calendars_of.values():
        base, _, copy = calendar.partition("~")
        assert base in template.stored and copy.isdigit()
    assert [c["eventName"] for c in changes] == ["INSERT", "MODIFY"] * 10


def test_an_appointment_keeps_its_calendar_and_hot_calendars_get_their_share() -> None:
    mix = Mix(calendars=100_000, hot=5, share=0.02)
    drawn = [calendar_for("cal-0001", f"apt-{n}", replica=3, mix=mix, bases=200) for n in range(50_000)]

    assert drawn == [
        calendar_for("cal-0001", f"apt-{n}", replica=3, mix=mix, bases=200) for n in range(50_000)
    ]
    hot = Counter(c for c in drawn if c.startswith("hot-"))
    assert set(hot) == {f"hot-{k}" for k in range(5)}
    assert sum(hot.values()) / len(drawn) == pytest.approx(0.02, rel=0.1)
    # 100,000 calendars over 200 workload calendars: 500 copies of each.
    assert len({c for c in drawn if not c.startswith("hot-")}) == 500


def test_the_population_is_made_on_demand_with_each_calendar_its_own_id() -> None:
    stored = {"cal-0001": {"calendar_id": {"S": "cal-0001"}, "alert_mobile": {"S": "+4915100000001"}}}
    population = ClonedSettings(stored, hot_base="cal-0001")

    assert population["cal-0001~42"] == {
        "calendar_id": {"S": "cal-0001~42"},
        "alert_mobile": {"S": "+4915100000001"},
    }
    assert population["hot-3"]["calendar_id"] == {"S": "hot-3"}
    assert population.get("cal-9999~1") is None  # a calendar without settings stays without
    assert stored["cal-0001"]["calendar_id"] == {"S": "cal-0001"}


def test_a_per_change_figure_that_grows_is_named_and_a_flat_one_is_not() -> None:
    table = [
        {
            "changes": 1_000,
            "cpu_ms_per_change": 2.0,
            "aws_calls_per_change": 5.0,
            "settings_reads_per_change": 0.8,
        },
        {
            "changes": 10_000,
            "cpu_ms_per_change": 2.1,
            "aws_calls_per_change": 5.0,
            "settings_reads_per_change": 0.8,
        },
        {
            "changes": 100_000,
            "cpu_ms_per_change": 3.0,
            "aws_calls_per_change": 5.1,
            "settings_reads_per_change": 0.8,
        },
    ]

    steps = super_linear_steps(table)

    assert steps == ["cpu_ms_per_change 2.1 -> 3 from 10,000 to 100,000 changes"]
    assert growth_ratio(list(reversed(table)), "cpu_ms_per_change") == 1.5
    # The smallest size ran again at the end, slower (the machine got busier): its mean is the base.
    bracketed = [*table, {**table[0], "cpu_ms_per_change": 2.4}]
    assert growth_ratio(bracketed, "cpu_ms_per_change") == pytest.approx(3.0 / 2.2, abs=1e-3)
    assert super_linear_steps(bracketed) == steps


@pytest.mark.parametrize(
    ("call", "billed"),
    [
        ("put_item@feed", "dynamodb.PutItem"),
        ("UpdateItem@idempotency", "dynamodb.UpdateItem"),
        ("BatchGetItem@settings", "dynamodb.BatchGetItem"),
        ("SendMessageBatch", "sqs.SendMessageBatch"),
        ("change_message_visibility", "sqs.ChangeMessageVisibility"),
        ("Publish", "sns.Publish"),
        ("SendEmail", "sesv2.SendEmail"),
    ],
)
def test_a_stand_in_call_is_named_as_aws_bills_it(call: str, billed: str) -> None:
    assert service_call(call) == billed


def _hot_template() -> Template:
    from practitioner_alerts.adapters.dynamodb import to_item  # noqa: PLC0415
    from practitioner_alerts.domain.settings import CalendarSettings  # noqa: PLC0415

    booking = json.loads((EVENTS / "stream-online-booking.json").read_text("utf-8"))["Records"][0]
    settings = CalendarSettings(
        calendar_id="cal-dr-weber",
        locale="de",
        time_zone="Europe/Berlin",
        alert_email="praxis.weber@example.com",
        verified_email="praxis.weber@example.com",
        alert_mobile="+4915123456789",
        verified_mobile="+4915123456789",
    )
    stored = {"cal-dr-weber": to_item(settings.model_dump())}
    return Template([json.dumps(booking)], ["apt-1001"], [["cal-dr-weber"]], stored, "cal-dr-weber")


@pytest.mark.parametrize("sms_only", [False, True])
def test_a_hot_calendar_gets_sms_up_to_the_cap_and_every_alert_in_its_feed(sms_only: bool) -> None:
    hour = hot_hour(_hot_template(), bookings=40, sms_only=sms_only)

    assert hour.bookings == 40 and hour.sms_wanted == 40
    assert hour.sms_sent == hour.segments_sent == hour.cap_segments  # one segment each, up to the cap
    assert hour.cap_reached_minute == pytest.approx(60 * hour.cap_segments / 40)
    over = 40 - hour.cap_segments
    assert (hour.sms_parked, hour.sms_covered_by_email) == ((over, 0) if sms_only else (0, over))
    assert hour.emails == (0 if sms_only else 40)
    assert hour.feed_entries == hour.pushes == 40
    assert hour.most_in_a_group == 1  # each booking its own FIFO groups
