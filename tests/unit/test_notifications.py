"""Queue messages: which addresses a notification may carry, and ids that stay the same for the
same change wherever and whenever they are computed (they are the queue's deduplication ids and
the sender's idempotency keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from practitioner_alerts.domain.notifications import AlertContent, Notification, notification_id

ALERT = AlertContent(
    kind="booked",
    calendar_id="cal-dr-weber",
    appointment_id="apt-1001",
    starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
    changed_at=datetime(2027, 9, 1, 16, 30, tzinfo=UTC),
    time_zone="Europe/Berlin",
    locale="de",
)
CHANGED, STARTS = ALERT.changed_at, ALERT.starts_at


@pytest.mark.parametrize(
    ("channel", "to", "problem"),
    [
        ("sms", "0151 23456789", "is not a mobile number in E.164 form (+ and 7-15 digits)"),
        (
            "email",
            "praxis@example.de\r\nBcc: x@example.de",
            "holds a line break, space, separator or quote, which no plain e-mail address does",
        ),
        ("email", "@example.de", "is not an e-mail address of the form name@domain"),
        ("email", "praxis@example.", "is not an e-mail address of the form name@domain"),
        ("email", "praxis.example.de", "is not an e-mail address of the form name@domain"),
    ],
)
def test_a_notification_refuses_an_address_its_channel_cannot_take_saying_why(
    channel: str, to: str, problem: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Notification(notification_id="n-1", channel=channel, to=to, alert=ALERT)  # type: ignore[arg-type]
    assert raised.value.errors()[0]["msg"] == f"Value error, {problem}"


def test_a_notification_id_is_the_same_from_release_to_release() -> None:
    # Recorded once: a change of it would give every message in flight during a deploy a new id,
    # and the sender's idempotency records would let each out a second time.
    assert notification_id("apt-1001", "booked", CHANGED, STARTS, "sms") == (
        "b8feca416c1dfb1359c88cb271dd0a0ba290effba06f36e5301dfcd0d463f984"
    )


def test_the_same_change_written_with_another_offset_keeps_its_notification_id() -> None:
    berlin = timezone(timedelta(hours=2))
    assert notification_id(
        "apt-1001", "booked", CHANGED.astimezone(berlin), STARTS.astimezone(berlin), "sms"
    ) == (notification_id("apt-1001", "booked", CHANGED, STARTS, "sms"))


@pytest.mark.usefixtures("machine_in_new_york")
def test_a_notification_id_is_the_same_on_a_machine_in_another_time_zone() -> None:
    assert notification_id("apt-1001", "booked", CHANGED, STARTS, "sms") == (
        "b8feca416c1dfb1359c88cb271dd0a0ba290effba06f36e5301dfcd0d463f984"
    )
