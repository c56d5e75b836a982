"""Which appointment changes become alerts: the short-notice rule.

The help article says a cancellation or reschedule alerts when it happens "the same day or the
day before", but its own example decides the meaning: for an appointment on 9 Sept at 12:00 a
change on 8 Sept at 13:00 alerts and one on 8 Sept at 11:00 does not. So the window is elapsed
time (24 hours by default), measured between instants, inclusive at its edge, and blind to
calendar days and daylight-saving switches.

Two cases the article does not spell out follow from what the practitioner needs to know: a
patient who moves an appointment *into* the window (next week -> tomorrow 08:00) gives them a
patient at short notice, exactly as a fresh booking of that slot would; and a patient who books
a cancelled appointment again has made an online booking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from practitioner_alerts.domain.appointments import Appointment, AppointmentChange

DEFAULT_WINDOW = timedelta(hours=24)


class ChangeKind(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    REMOVED = "removed"
    OTHER = "other"


class Reason(StrEnum):
    """Short codes for every decision; they appear in logs, metrics and the replay report."""

    ONLINE_BOOKING = "online_booking"
    ONLINE_REBOOKING = "online_rebooking"
    LATE_CANCELLATION = "late_cancellation"
    LATE_RESCHEDULE = "late_reschedule"
    RESCHEDULED_INTO_SHORT_NOTICE = "rescheduled_into_short_notice"
    EARLY_CANCELLATION = "early_cancellation"
    EARLY_RESCHEDULE = "early_reschedule"
    CHANGED_BY_PRACTICE = "changed_by_practice"
    CHANGED_BY_SYSTEM = "changed_by_system"
    TTL_EXPIRY = "ttl_expiry"
    DELETED = "deleted"
    NO_STATUS_OR_START_CHANGE = "no_status_or_start_change"
    NOT_AN_ALERTING_CHANGE = "not_an_alerting_change"
    NO_CALENDAR_SETTINGS = "no_calendar_settings"
    NO_CONTACT = "no_contact"


@dataclass(frozen=True)
class Decision:
    kind: ChangeKind
    alert: bool
    reason: Reason


def classify(change: AppointmentChange) -> ChangeKind:
    """Name the change, whoever made it."""
    if change.event_name == "REMOVE":
        return ChangeKind.REMOVED
    after = change.after
    assert after is not None  # read_change guarantees a new image on INSERT and MODIFY
    if change.event_name == "INSERT":
        return ChangeKind.BOOKED if after.status == "booked" else ChangeKind.OTHER
    before = change.before
    assert before is not None
    if before.status == "booked" and after.status == "cancelled":
        return ChangeKind.CANCELLED
    if before.status == "cancelled" and after.status == "booked":
        return ChangeKind.BOOKED
    # Aware datetimes compare as instants: 12:00+02:00 and 10:00Z are the same start.
    if before.status == after.status == "booked" and before.starts_at != after.starts_at:
        return ChangeKind.RESCHEDULED
    return ChangeKind.OTHER


def is_short_notice(changed_at: datetime, starts_at: datetime, window: timedelta = DEFAULT_WINDOW) -> bool:
    """True when the change came at most ``window`` of elapsed time before the start.

    Both sides go to UTC first: subtracting a timedelta from a datetime in a named zone is
    wall-clock arithmetic in Python, which would stretch or shrink the window across DST.
    """
    return changed_at.astimezone(UTC) >= starts_at.astimezone(UTC) - window


def decide(change: AppointmentChange, window: timedelta = DEFAULT_WINDOW) -> Decision:
    """Decide whether one change alerts the practitioner, and why (not)."""
    kind = classify(change)
    if kind is ChangeKind.REMOVED:
        return Decision(kind, False, Reason.TTL_EXPIRY if change.removed_by_ttl else Reason.DELETED)
    after = change.after
    assert after is not None
    if kind is ChangeKind.OTHER:
        changed = change.before is None or (
            change.before.status != after.status or change.before.starts_at != after.starts_at
        )
        return Decision(
            kind, False, Reason.NOT_AN_ALERTING_CHANGE if changed else Reason.NO_STATUS_OR_START_CHANGE
        )
    if after.changed_by == "practice":
        return Decision(kind, False, Reason.CHANGED_BY_PRACTICE)
    if after.changed_by == "system":
        return Decision(kind, False, Reason.CHANGED_BY_SYSTEM)
    if kind is ChangeKind.BOOKED:
        return Decision(kind, True, Reason.ONLINE_REBOOKING if change.before else Reason.ONLINE_BOOKING)

    before = change.before
    assert before is not None
    late = is_short_notice(after.changed_at, before.starts_at, window)
    if kind is ChangeKind.CANCELLED:
        return Decision(kind, late, Reason.LATE_CANCELLATION if late else Reason.EARLY_CANCELLATION)
    if late:
        return Decision(kind, True, Reason.LATE_RESCHEDULE)
    if is_short_notice(after.changed_at, after.starts_at, window):
        return Decision(kind, True, Reason.RESCHEDULED_INTO_SHORT_NOTICE)
    return Decision(kind, False, Reason.EARLY_RESCHEDULE)


def superseded(kind: str, starts_at: datetime, current: Appointment | None) -> str | None:
    """Why an alert no longer tells the truth about its appointment, or None while it does.

    A redriven alert goes out after the changes that followed it, so it must still describe the
    appointment as it is now: a booking of a slot since cancelled, or a reschedule to a start
    since moved again, would leave the practitioner believing the wrong thing.
    """
    if kind == "cancelled":
        if current is not None and current.status == "booked":
            return "booked again since"
        return None
    if kind not in ("booked", "rescheduled"):
        return None  # a test message tells nothing about an appointment
    if current is None:
        return "deleted since"
    if current.status == "cancelled":
        return "cancelled since"
    if current.starts_at != starts_at:  # instants: another offset is the same start
        return f"moved since to {current.starts_at.isoformat()}"
    return None
