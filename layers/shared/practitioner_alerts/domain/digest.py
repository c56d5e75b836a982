"""The SMS digest: a calendar's burst of SMS alerts told in one SMS instead of one each.

A vaccination centre taking 300 online bookings an hour would otherwise reach its hourly SMS cap
within minutes and hear nothing by SMS for the rest of the hour (docs/cost-model.md, "Hot
calendars"). So time is cut into five-minute windows, and in each window the first
``SmsDigestAfter`` SMS alerts of a calendar go out at once, as always; any more in that window
are told together by one SMS at the window's end. Every alert still gets its e-mail and its
feed entry, and the longest an alert waits for its SMS is one window, well inside the
ten-minute promise.

The digest is a queue message of its own, whose id is the calendar, the contact and the window,
so it goes out once through the same idempotency and deduplication as any SMS, and it takes its
lines from the delivery log when it is sent: each alert that joined it wrote its line there
first, and the digest closes the window before reading them, so a line joins a digest that went
out, or none and goes out alone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from practitioner_alerts.domain.notifications import AlertContent, Notification

DIGEST_WINDOW = timedelta(minutes=5)
# Kinds told in a digest: a code to confirm a contact or a test message is what its recipient
# waits for, one at a time, and never part of a burst.
DIGESTED_KINDS = frozenset({"booked", "cancelled", "rescheduled"})
# A digest's record stays as long as its queue message may come back: redriven from the
# dead-letter queue, which keeps messages for 14 days.
DIGEST_MEMORY = timedelta(days=15)


def window_of(moment: datetime) -> datetime:
    """The start of the five-minute window ``moment`` falls in, in UTC."""
    moment = moment.astimezone(UTC)
    step = int(DIGEST_WINDOW.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)


def may_join_a_digest(notification: Notification) -> bool:
    return (
        notification.channel == "sms"
        and notification.digest_window is None
        and notification.alert.kind in DIGESTED_KINDS
    )


def digest_key(notification: Notification, window: datetime) -> str:
    """Where the window's count and lines are kept: per calendar, contact and window."""
    contact = hashlib.sha256((notification.to or "").encode()).hexdigest()[:16]
    return f"sms-digest#{window.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}#{contact}"


class DigestLine(BaseModel):
    """What a digest says of one alert: its kind and when, no patient."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str
    kind: str
    appointment_id: str
    starts_at: AwareDatetime

    @classmethod
    def of(cls, notification: Notification) -> DigestLine:
        alert = notification.alert
        return cls(
            notification_id=notification.notification_id,
            kind=alert.kind,
            appointment_id=alert.appointment_id,
            starts_at=alert.starts_at,
        )


def digest_notification(first: Notification, window: datetime, key: str) -> Notification:
    """The queue message that sends the window's digest; made by every alert that joins it, all
    alike, so that the queue's deduplication and the idempotency record keep it to one."""
    alert: AlertContent = first.alert.model_copy(
        update={"patient_first_name": None, "patient_last_name": None, "visit_motive": None}
    )
    digest_id = hashlib.sha256(f"{alert.calendar_id}\x1f{key}".encode()).hexdigest()
    return Notification(
        notification_id=digest_id,
        channel="sms",
        to=first.to,
        alert=alert,
        covered_by_email=first.covered_by_email,
        digest_window=window,
    )


def window_end(notification: Notification) -> datetime:
    assert notification.digest_window is not None
    return notification.digest_window + DIGEST_WINDOW
