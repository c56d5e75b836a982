"""The SMS digest of a hot calendar: the first SMS alerts of a five-minute window go out alone,
the rest of the window in one SMS at its end, each alert once, and e-mail and the feed as ever.

Runs the real sender over the fakes (held to the real adapters by tests/contract); the whole
path through the local runtime's queue is in tests/local/test_sms_digest.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from practitioner_alerts.domain.digest import DIGEST_WINDOW, DigestLine, window_of
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import TransientError
from practitioner_alerts.rendering import count_segments, render_digest, render_sms
from practitioner_alerts.sender import AlertSender
from tests.fakes import (
    FakeDeliveryLog,
    FakeInFlight,
    FakeParkingLot,
    FakeQueue,
    FakeSettings,
    FakeSms,
    fake_sender,
)
from tests.unit.test_sender_bookkeeping import metrics_emitted

WEBER = CalendarSettings(
    calendar_id="cal-dr-weber",
    alert_email="praxis.weber@example.com",
    alert_mobile="+4915123456789",
    practitioner_name="Dr. Weber",
).with_contacts_verified()
SMS_ONLY = WEBER.model_copy(update={"alert_email": None, "verified_email": None})
# 12:01 UTC on 8 Sept: inside the window 12:00-12:05.
WINDOW = datetime(2027, 9, 8, 12, 0, tzinfo=UTC)


def change(
    number: int, *, kind: str = "booked", at: datetime | None = None, settings: CalendarSettings = WEBER
) -> Notification:
    """The SMS notification of appointment ``number``'s change, made ``number`` seconds into the window."""
    alert = AlertContent(
        kind=kind,  # type: ignore[arg-type]
        calendar_id=settings.calendar_id,
        appointment_id=f"apt-{number}",
        starts_at=datetime(2027, 9, 9, 8, tzinfo=UTC) + timedelta(minutes=15 * number),
        previous_starts_at=datetime(2027, 9, 10, 8, tzinfo=UTC) if kind == "rescheduled" else None,
        changed_at=at or WINDOW + timedelta(seconds=60 + number),
        patient_first_name="Mia",
        patient_last_name=f"Muster{number}",
        practitioner_name=settings.practitioner_name,
        time_zone="Europe/Berlin",
        locale=settings.locale,
    )
    (sms,) = [n for n in notifications_for(alert, settings, in_app=False) if n.channel == "sms"]
    return sms


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def digest_sender(*, after: int = 1, calendar: CalendarSettings = WEBER, **overrides: Any) -> AlertSender:
    collaborators: dict[str, Any] = {
        "sms_digest_after": after,
        "digests": FakeQueue(),
        "clock": Clock(WINDOW + timedelta(minutes=2)),
        "settings": FakeSettings({calendar.calendar_id: calendar}),
    }

    return fake_sender(**{**collaborators, **overrides})


def event(*notifications: Notification, receives: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n.notification_id[:8]}-{receives}",
                "receiptHandle": f"r-{n.notification_id[:8]}-{receives}",
                "body": n.model_dump_json(),
                "attributes": {"ApproximateReceiveCount": str(receives), "MessageGroupId": f"g-{index}"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for index, n in enumerate(notifications)
        ]
    }


def queued_digests(sender: AlertSender) -> list[Notification]:
    assert isinstance(sender.digests, FakeQueue)
    return sender.digests.sent


def sent(sender: AlertSender) -> list[tuple[str, str]]:
    assert isinstance(sender.sms, FakeSms)
    return sender.sms.outbox


def at_window_end(sender: AlertSender) -> None:
    assert isinstance(sender.clock, Clock)
    sender.clock.now = WINDOW + DIGEST_WINDOW + timedelta(seconds=1)


def test_the_first_sms_of_a_window_goes_out_alone_and_the_rest_wait_for_one_digest() -> None:
    metrics_emitted()
    sender = digest_sender()
    response = sender.handle(event(change(1), change(2), change(3)), None)
    assert response["batchItemFailures"] == []
    assert sent(sender) == [("+4915123456789", render_sms(change(1).alert))]
    (digest,) = queued_digests(sender)  # queued by each that joined, taken once
    assert digest.channel == "sms" and digest.to == "+4915123456789"
    assert digest.digest_window == WINDOW
    # The digest's message carries no patient: its lines are in the delivery log.
    assert digest.alert.patient_last_name is None and digest.alert.patient_first_name is None
    emitted = metrics_emitted()
    assert emitted["SmsInDigest"] == (2.0, "Count")
    assert emitted["Delivered_sms"] == (1.0, "Count")  # the two told by the digest are not yet


def test_a_digest_before_its_window_ends_is_held_until_then_and_sends_nothing() -> None:
    sender = digest_sender()
    sender.handle(event(change(1), change(2), change(3)), None)
    (digest,) = queued_digests(sender)
    assert isinstance(sender.clock, Clock)
    sender.clock.now = WINDOW + timedelta(minutes=3, seconds=20)
    response = sender.handle(event(digest), None)
    assert isinstance(sender.in_flight, FakeInFlight)
    receipt = event(digest)["Records"][0]["receiptHandle"]
    assert response["batchItemFailures"] == [{"itemIdentifier": event(digest)["Records"][0]["messageId"]}]
    assert sender.in_flight.held == [(receipt, 100)]  # 12:03:20 -> 12:05:00
    assert sender.in_flight.postponed == []
    assert len(sent(sender)) == 1
    assert isinstance(sender.parking, FakeParkingLot)
    assert sender.parking.parked == []


def test_a_digest_is_held_once_and_goes_out_when_it_comes_again_whatever_the_clock_says() -> None:
    sender = digest_sender()
    sender.handle(event(change(1), change(2)), None)
    (digest,) = queued_digests(sender)
    assert sender.handle(event(digest), None)["batchItemFailures"]  # held, at 12:02
    assert sender.handle(event(digest, receives=2), None)["batchItemFailures"] == []  # still 12:02
    assert sent(sender)[-1][1].startswith("1 weiterer neuer Online-Termin: ")


def test_at_its_window_end_the_digest_tells_every_further_alert_in_one_sms_once() -> None:
    sender = digest_sender()
    sender.handle(event(change(1), change(2), change(3)), None)
    (digest,) = queued_digests(sender)
    at_window_end(sender)
    assert sender.handle(event(digest, receives=2), None)["batchItemFailures"] == []
    _, digest_sms = sent(sender)
    assert digest_sms == (
        "+4915123456789",
        "2 weitere neue Online-Termine: Do., 9. Sept. 10:30, 10:45 (Dr. Weber)",
    )
    assert count_segments(digest_sms[1]).segments == 1
    assert isinstance(sender.delivery_log, FakeDeliveryLog)
    assert sender.delivery_log.segments_spent == [1, 1]
    assert set(sender.delivery_log.sms_owners.values()) == {"cal-dr-weber"}  # both receipts map back
    # Redelivered (a lost delete, a redrive): the idempotency record sends nothing more.
    sender.handle(event(digest, receives=3), None)
    assert len(sent(sender)) == 2
    assert queued_digests(sender) == [digest]  # a digest queues nothing more


def test_an_alert_after_its_windows_digest_went_out_goes_out_alone() -> None:
    sender = digest_sender()
    sender.handle(event(change(1), change(2)), None)
    (digest,) = queued_digests(sender)
    at_window_end(sender)
    sender.handle(event(digest, receives=2), None)
    late = change(4)  # changed in the same window, reaching the sender only now
    sender.handle(event(late), None)
    assert sent(sender)[-1] == ("+4915123456789", render_sms(late.alert))
    assert len(sent(sender)) == 3


def test_a_message_whose_line_joined_a_digest_that_then_went_out_is_not_sent_again() -> None:
    sender = digest_sender(digests=FakeQueue(failure=TransientError, fail_for={"apt-2"}))
    sender.handle(event(change(1), change(2)), None)  # apt-2's line joined, its digest was not queued
    assert queued_digests(sender) == []
    # A later alert of the window queues the digest; it goes out at the window's end with both.
    sender.handle(event(change(3)), None)
    (digest,) = queued_digests(sender)
    at_window_end(sender)
    sender.handle(event(digest, receives=2), None)
    assert sent(sender)[-1][1].startswith("2 weitere neue Online-Termine")
    sender.handle(event(change(2), receives=2), None)  # apt-2's message comes back
    assert len(sent(sender)) == 2


def test_a_window_is_five_minutes_of_the_changes_time_and_each_calendar_has_its_own() -> None:
    assert window_of(datetime(2027, 9, 8, 12, 4, 59, tzinfo=UTC)) == WINDOW
    assert window_of(datetime(2027, 9, 8, 16, 7, 30, tzinfo=ZoneInfo("Europe/Berlin"))) == datetime(
        2027, 9, 8, 14, 5, tzinfo=UTC
    )
    sender = digest_sender()
    sender.handle(event(change(1), change(2, at=WINDOW + DIGEST_WINDOW)), None)
    assert len(sent(sender)) == 2  # two windows, the first of each alone
    other = SMS_ONLY.model_copy(
        update={"calendar_id": "cal-dr-roth", "alert_mobile": "+4915199999999"}
    ).with_contacts_verified()
    sender = digest_sender(calendar=other)
    sender.handle(event(change(1, settings=other), change(2)), None)
    assert queued_digests(sender) == []


def test_without_a_digest_every_sms_goes_out_alone_and_no_window_is_counted() -> None:
    sender = digest_sender(after=0)
    sender.handle(event(change(1), change(2), change(3)), None)
    assert len(sent(sender)) == 3
    assert isinstance(sender.delivery_log, FakeDeliveryLog)
    assert sender.delivery_log.digests == {}


def test_after_n_the_first_n_of_a_window_go_out_alone() -> None:
    sender = digest_sender(after=2)
    sender.handle(event(*(change(n) for n in range(1, 6))), None)
    assert len(sent(sender)) == 2
    (digest,) = queued_digests(sender)
    at_window_end(sender)
    sender.handle(event(digest, receives=2), None)
    assert sent(sender)[-1][1].startswith("3 weitere neue Online-Termine")


def test_codes_and_test_messages_are_never_put_in_a_digest() -> None:
    sender = digest_sender()
    sender.handle(event(change(1), change(2, kind="test"), change(3, kind="test")), None)
    assert len(sent(sender)) == 3
    assert queued_digests(sender) == []


def test_a_digest_over_the_sms_cap_is_parked_where_no_email_tells_the_alerts() -> None:
    log = FakeDeliveryLog()
    sender = digest_sender(calendar=SMS_ONLY, delivery_log=log, sms_per_calendar_per_hour=1)
    sender.handle(event(change(1, settings=SMS_ONLY), change(2, settings=SMS_ONLY)), None)
    (digest,) = queued_digests(sender)
    at_window_end(sender)
    sender.handle(event(digest, receives=2), None)
    assert len(sent(sender)) == 1
    assert isinstance(sender.parking, FakeParkingLot)
    (parked,) = sender.parking.parked
    assert parked["reason"].startswith("sms_cap_reached")


def test_a_digest_whose_number_was_deleted_meanwhile_sends_nothing() -> None:
    settings = FakeSettings({WEBER.calendar_id: WEBER})
    sender = digest_sender(settings=settings)
    sender.handle(event(change(1), change(2)), None)
    (digest,) = queued_digests(sender)
    settings.calendars[WEBER.calendar_id] = WEBER.model_copy(
        update={"alert_mobile": None, "verified_mobile": None}
    )
    at_window_end(sender)
    assert sender.handle(event(digest, receives=2), None)["batchItemFailures"] == []
    assert len(sent(sender)) == 1


def _lines(
    count: int, kind: str = "booked", start: datetime = datetime(2027, 9, 9, 8, tzinfo=UTC)
) -> list[DigestLine]:
    return [
        DigestLine(
            notification_id=f"{kind}-{n}",
            kind=kind,
            appointment_id=f"apt-{n}",
            starts_at=start + timedelta(minutes=10 * n),
        )
        for n in range(count)
    ]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "de",
            "2 weitere neue Online-Termine: Do., 9. Sept. 10:00, 10:10; "
            "1 weitere kurzfristige Absage: Fr., 10. Sept. 10:00",
        ),
        (
            "en",
            "2 more online bookings: Thu 9 Sept 09:00, 09:10; "
            "1 more short-notice cancellation: Fri 10 Sept 09:00",
        ),
        (
            "fr",
            "2 autres rendez-vous en ligne : jeu. 9 sept. 10:00, 10:10; "
            "1 autre annulation tardive : ven. 10 sept. 10:00",
        ),
        (
            "it",
            "altri 2 appuntamenti online: gio 9 set 10:00, 10:10; 1 altra disdetta tardiva: ven 10 set 10:00",
        ),
    ],
)
def test_a_digest_says_how_many_of_each_change_and_when_in_the_calendars_language(
    locale: str, expected: str
) -> None:
    zone = "Europe/London" if locale == "en" else "Europe/Berlin"
    alert = change(1).alert.model_copy(
        update={"locale": locale, "time_zone": zone, "practitioner_name": None}
    )
    lines = [*_lines(2), *_lines(1, "cancelled", datetime(2027, 9, 10, 8, tzinfo=UTC))]
    assert render_digest(alert, lines) == expected


def test_a_long_digest_stays_one_segment_and_still_counts_every_alert() -> None:
    text = render_digest(change(1).alert, _lines(40) + _lines(3, "cancelled"))
    assert count_segments(text).segments == 1
    assert text.startswith("40 weitere neue Online-Termine: Do., 9. Sept. 10:00, 10:10")
    assert "3 weitere kurzfristige Absagen" in text
    assert "..." in text or "…" in text
