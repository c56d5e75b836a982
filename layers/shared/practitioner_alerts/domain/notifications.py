"""Notifications: one per alert and channel, each with an id that never changes on redelivery.

The id is derived from what happened (appointment, kind of change, when it was made, the new
start) and the channel. A stream batch delivered twice therefore yields the same ids, which the
FIFO queue uses as deduplication ids and the sender as idempotency keys.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationInfo, field_validator

from practitioner_alerts.domain.appointments import AppointmentChange
from practitioner_alerts.domain.rule import ChangeKind
from practitioner_alerts.domain.settings import CalendarSettings, Locale

Channel = Literal["sms", "email", "in_app"]
# "verification" carries a one-time code to a contact that is not proven yet, and nothing else.
AlertKind = Literal["booked", "cancelled", "rescheduled", "test", "verification"]


class AlertContent(BaseModel):
    """Everything a message needs to say what happened, in the calendar's language and zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AlertKind
    calendar_id: str
    appointment_id: str
    starts_at: AwareDatetime
    previous_starts_at: AwareDatetime | None = None
    changed_at: AwareDatetime
    patient_first_name: str | None = None
    patient_last_name: str | None = None
    visit_motive: str | None = None
    practitioner_name: str | None = None
    time_zone: str
    locale: Locale
    # Only on a "verification": the code its recipient types back to prove the contact.
    verification_code: str | None = None


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# What a plain address never holds and a header would take as its end, another recipient or a
# display name: line breaks and other control characters, spaces, separators and quotes.
_NOT_IN_A_PLAIN_ADDRESS = re.compile(r'[\s\x00-\x1f\x7f-\x9f,;:<>()\[\]"\\]')


def address_problem(channel: Channel, to: str) -> str | None:
    """What is wrong with ``to`` as an address of ``channel``, without quoting it (the reason is
    logged and parked), or None. Only the shape: whether it reaches anyone is the channel's to say.

    Settings hold only addresses that were checked when entered; this guards the queue's door
    against one written around the API, which would otherwise break the SES request the same way
    on every retry until the dead-letter queue."""
    if channel == "sms":
        return None if _E164.fullmatch(to) else "is not a mobile number in E.164 form (+ and 7-15 digits)"
    if channel == "email":
        if _NOT_IN_A_PLAIN_ADDRESS.search(to):
            return "holds a line break, space, separator or quote, which no plain e-mail address does"
        local, at, domain = to.rpartition("@")
        if not at or not local or "@" in local or "." not in domain.strip("."):
            return "is not an e-mail address of the form name@domain"
    return None


class Notification(BaseModel):
    """One queue message: an alert to deliver on one channel to one address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notification_id: str
    channel: Channel
    to: str | None = None
    alert: AlertContent
    # Set on an SMS when the calendar also gets the alert by e-mail: if the SMS cannot go (the
    # hourly SMS cap), the practitioner still hears of it, so the SMS need not be parked.
    covered_by_email: bool = False
    # Set on a digest (domain.digest): the start of the five-minute window whose further SMS
    # alerts it tells in one SMS at the window's end; ``alert`` is then the window's first such
    # alert, without its patient, for the calendar's language, zone and name.
    digest_window: AwareDatetime | None = None

    @field_validator("to")
    @classmethod
    def _an_address_of_its_channel(cls, value: str | None, info: ValidationInfo) -> str | None:
        channel = info.data.get("channel")
        if value is not None and channel is not None and (problem := address_problem(channel, value)):
            raise ValueError(problem)
        return value


def notification_id(
    appointment_id: str, kind: str, changed_at: datetime, starts_at: datetime, channel: Channel
) -> str:
    # Instants go in as UTC so the same change written with another offset keeps its id.
    parts = (
        appointment_id,
        kind,
        changed_at.astimezone(UTC).isoformat(),
        starts_at.astimezone(UTC).isoformat(),
        channel,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# SQS takes a MessageGroupId of at most 128 characters.
_MAX_GROUP_LENGTH = 128


def message_group(notification: Notification) -> str:
    """The FIFO group: one appointment's alerts on one channel.

    Order matters only within a channel (a cancellation SMS must not overtake the booking SMS);
    a group per channel lets the e-mail and the pop-up go out while SNS fails and the SMS group
    waits, instead of the whole appointment waiting for the SMS."""
    if notification.digest_window is not None:
        # A digest waits for its window's end in the queue; in a group of its own it holds up
        # no appointment's alerts meanwhile.
        return f"{notification.notification_id}#digest"
    appointment = notification.alert.appointment_id
    group = f"{appointment}#{notification.channel}"
    if len(group) <= _MAX_GROUP_LENGTH:
        return group
    return f"{hashlib.sha256(appointment.encode()).hexdigest()}#{notification.channel}"


def alert_content(change: AppointmentChange, kind: ChangeKind, settings: CalendarSettings) -> AlertContent:
    after = change.after
    assert after is not None  # only INSERT and MODIFY alert
    previous = change.before.starts_at if kind is ChangeKind.RESCHEDULED and change.before else None
    return AlertContent(
        kind=kind.value,  # only booked, cancelled and rescheduled alert
        calendar_id=after.calendar_id,
        appointment_id=after.appointment_id,
        starts_at=after.starts_at,
        previous_starts_at=previous,
        changed_at=after.changed_at,
        patient_first_name=after.patient_first_name,
        patient_last_name=after.patient_last_name,
        visit_motive=after.visit_motive,
        practitioner_name=settings.practitioner_name,
        time_zone=settings.time_zone,
        locale=settings.locale,
    )


def notifications_for(
    content: AlertContent, settings: CalendarSettings, *, in_app: bool
) -> list[Notification]:
    """One notification per proven contact, plus the in-calendar feed when it is on.

    A contact still pending verification gets nothing: until its owner confirmed the code, it
    may be a typo's stranger. The feed sits behind the practitioner's login and always gets it."""
    addresses: list[tuple[Channel, str | None]] = []
    if settings.sms_recipient:
        addresses.append(("sms", settings.sms_recipient))
    if settings.email_recipient:
        addresses.append(("email", settings.email_recipient))
    if in_app:
        addresses.append(("in_app", None))
    # Only what each channel may carry: the motive goes by e-mail only where the calendar opted
    # in, and never by SMS (its queue message does not even hold it).
    without_motive = content.model_copy(update={"visit_motive": None}) if content.visit_motive else content
    carried: dict[Channel, AlertContent] = {
        "sms": without_motive,
        "email": content if settings.visit_motive_in_email else without_motive,
        "in_app": content,
    }
    return [
        Notification(
            notification_id=notification_id(
                content.appointment_id, content.kind, content.changed_at, content.starts_at, channel
            ),
            channel=channel,
            to=to,
            alert=carried[channel],
            covered_by_email=channel == "sms" and settings.email_recipient is not None,
        )
        for channel, to in addresses
    ]
