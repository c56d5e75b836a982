"""The short-notice rule, pinned to the help article's own example."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from practitioner_alerts.domain.appointments import Appointment, AppointmentChange
from practitioner_alerts.domain.rule import ChangeKind, Reason, classify, decide, superseded

BOOKED: dict[str, Any] = {
    "appointment_id": "apt-1",
    "calendar_id": "cal-1",
    "starts_at": "2027-09-09T12:00:00+02:00",
    "status": "booked",
    "changed_at": "2027-09-01T10:00:00+02:00",
    "changed_by": "patient",
}


def appointment(**changes: Any) -> Appointment:
    return Appointment.model_validate({**BOOKED, **changes})


def modify(before: Appointment, **changes: Any) -> AppointmentChange:
    return AppointmentChange("e-1", "MODIFY", "apt-1", before=before, after=appointment(**changes))


def verdict(change: AppointmentChange) -> tuple[ChangeKind, bool, Reason]:
    decision = decide(change)
    return decision.kind, decision.alert, decision.reason


def cancellation_at(changed_at: str, starts_at: str = BOOKED["starts_at"]) -> AppointmentChange:
    return modify(
        appointment(starts_at=starts_at), starts_at=starts_at, status="cancelled", changed_at=changed_at
    )


def test_online_booking_always_alerts_even_weeks_ahead() -> None:
    change = AppointmentChange("e-1", "INSERT", "apt-1", before=None, after=appointment())
    assert verdict(change) == (ChangeKind.BOOKED, True, Reason.ONLINE_BOOKING)


def test_help_article_cancellation_at_13_the_day_before_alerts() -> None:
    decision = decide(cancellation_at("2027-09-08T13:00:00+02:00"))
    assert decision.alert and decision.reason is Reason.LATE_CANCELLATION


def test_help_article_cancellation_at_11_the_day_before_is_silent() -> None:
    decision = decide(cancellation_at("2027-09-08T11:00:00+02:00"))
    assert not decision.alert and decision.reason is Reason.EARLY_CANCELLATION


def test_cancellation_exactly_24_hours_before_start_alerts() -> None:
    assert decide(cancellation_at("2027-09-08T12:00:00+02:00")).alert


def test_cancellation_one_second_more_than_24_hours_before_start_is_silent() -> None:
    assert not decide(cancellation_at("2027-09-08T11:59:59+02:00")).alert


def test_cancellation_after_the_start_still_alerts() -> None:
    assert decide(cancellation_at("2027-09-09T12:30:00+02:00")).alert


def test_spring_dst_switch_keeps_the_window_at_24_elapsed_hours() -> None:
    # Berlin springs forward on 28 March 2027. The start, 12:00 CEST, is 10:00 UTC, so 24 h
    # before is 27 March 11:00 CET. Wall-clock arithmetic ("the day before at 12:00") would put
    # the edge an hour later and wrongly silence the 11:00 change.
    starts = "2027-03-28T12:00:00+02:00"
    assert decide(cancellation_at("2027-03-27T12:00:00+01:00", starts)).alert
    assert decide(cancellation_at("2027-03-27T11:00:00+01:00", starts)).alert
    assert not decide(cancellation_at("2027-03-27T10:59:00+01:00", starts)).alert


def test_autumn_dst_switch_the_day_before_at_the_same_wall_time_is_25_hours() -> None:
    # Berlin falls back on 31 October 2027. From 30 Oct 12:00+02:00 to 31 Oct 12:00+01:00 is
    # 25 h of elapsed time, so a change at the same wall time the day before is silent.
    starts = "2027-10-31T12:00:00+01:00"
    assert not decide(cancellation_at("2027-10-30T12:00:00+02:00", starts)).alert
    assert decide(cancellation_at("2027-10-30T13:00:00+02:00", starts)).alert


def test_offsets_are_compared_as_instants() -> None:
    # 10:00Z is 12:00+02:00: exactly 24 h before, written in UTC.
    assert decide(cancellation_at("2027-09-08T10:00:00Z")).alert
    assert not decide(cancellation_at("2027-09-08T09:59:59Z")).alert


def test_same_instant_with_another_offset_is_not_a_reschedule() -> None:
    change = modify(appointment(), starts_at="2027-09-09T10:00:00Z", changed_at="2027-09-09T09:00:00+02:00")
    assert classify(change) is ChangeKind.OTHER
    assert decide(change).reason is Reason.NO_STATUS_OR_START_CHANGE


def test_late_reschedule_alerts_measured_from_the_old_start() -> None:
    # Moved to a month later, but the old start was 23 h away: the practitioner loses a slot.
    change = modify(
        appointment(), starts_at="2027-10-09T12:00:00+02:00", changed_at="2027-09-08T13:00:00+02:00"
    )
    assert verdict(change) == (ChangeKind.RESCHEDULED, True, Reason.LATE_RESCHEDULE)


@pytest.mark.parametrize(
    ("who", "reason"), [("practice", Reason.CHANGED_BY_PRACTICE), ("system", Reason.CHANGED_BY_SYSTEM)]
)
def test_changes_not_made_online_by_the_patient_are_silent(who: str, reason: Reason) -> None:
    change = modify(appointment(), status="cancelled", changed_at="2027-09-09T08:00:00+02:00", changed_by=who)
    decision = decide(change)
    assert (decision.kind, decision.alert, decision.reason) == (ChangeKind.CANCELLED, False, reason)
    insert = AppointmentChange("e-2", "INSERT", "apt-1", before=None, after=appointment(changed_by=who))
    assert decide(insert).reason is reason


def test_ttl_expiry_and_hard_delete_are_silent_with_their_own_reasons() -> None:
    ttl = AppointmentChange("e-1", "REMOVE", "apt-1", before=None, after=None, removed_by_ttl=True)
    deleted = AppointmentChange("e-2", "REMOVE", "apt-1", before=None, after=None)
    assert (decide(ttl).alert, decide(ttl).reason) == (False, Reason.TTL_EXPIRY)
    assert (decide(deleted).alert, decide(deleted).reason) == (False, Reason.DELETED)


def test_write_that_changes_neither_status_nor_start_is_silent() -> None:
    change = modify(appointment(), visit_motive="Kontrolle", changed_at="2027-09-09T11:00:00+02:00")
    assert decide(change).reason is Reason.NO_STATUS_OR_START_CHANGE


def test_an_appointment_written_already_cancelled_is_silent() -> None:
    # A calendar import or a sync can write a cancelled appointment the practitioner never had.
    insert = AppointmentChange("e-1", "INSERT", "apt-1", before=None, after=appointment(status="cancelled"))
    assert verdict(insert) == (ChangeKind.OTHER, False, Reason.NOT_AN_ALERTING_CHANGE)


def test_moving_a_cancelled_appointment_is_silent_and_says_it_changed() -> None:
    change = modify(
        appointment(status="cancelled"),
        status="cancelled",
        starts_at="2027-09-09T09:00:00+02:00",
        changed_at="2027-09-09T08:00:00+02:00",
    )
    assert verdict(change) == (ChangeKind.OTHER, False, Reason.NOT_AN_ALERTING_CHANGE)


def test_a_patient_booking_a_cancelled_appointment_again_is_an_online_booking() -> None:
    change = modify(appointment(status="cancelled"), status="booked", changed_at="2027-08-01T11:00:00+02:00")
    assert verdict(change) == (ChangeKind.BOOKED, True, Reason.ONLINE_REBOOKING)


def test_the_practice_booking_a_cancelled_appointment_again_is_silent() -> None:
    change = modify(
        appointment(status="cancelled"),
        status="booked",
        changed_at="2027-09-09T11:00:00+02:00",
        changed_by="practice",
    )
    assert decide(change).reason is Reason.CHANGED_BY_PRACTICE


def reschedule(
    new_start: str, changed_at: str, old_start: str = "2027-09-16T12:00:00+02:00"
) -> AppointmentChange:
    return modify(appointment(starts_at=old_start), starts_at=new_start, changed_at=changed_at)


def test_a_move_from_next_week_to_tomorrow_morning_alerts_as_short_notice() -> None:
    # The review's case: made 14 h before the new start, days before the old one.
    assert verdict(reschedule("2027-09-09T08:00:00+02:00", changed_at="2027-09-08T18:00:00+02:00")) == (
        ChangeKind.RESCHEDULED,
        True,
        Reason.RESCHEDULED_INTO_SHORT_NOTICE,
    )


def test_a_move_to_exactly_24_hours_after_the_change_alerts_and_one_minute_later_is_silent() -> None:
    assert decide(reschedule("2027-09-09T18:00:00+02:00", changed_at="2027-09-08T18:00:00+02:00")).alert
    late_by_a_minute = decide(reschedule("2027-09-09T18:01:00+02:00", changed_at="2027-09-08T18:00:00+02:00"))
    assert (late_by_a_minute.alert, late_by_a_minute.reason) == (False, Reason.EARLY_RESCHEDULE)


def test_a_late_reschedule_keeps_its_own_reason_when_the_new_start_is_also_near() -> None:
    change = reschedule(
        "2027-09-09T16:00:00+02:00",
        changed_at="2027-09-09T08:00:00+02:00",
        old_start="2027-09-09T12:00:00+02:00",
    )
    assert decide(change).reason is Reason.LATE_RESCHEDULE


def test_short_notice_for_the_new_start_counts_elapsed_hours_across_the_autumn_clock_change() -> None:
    # Berlin goes from +02:00 to +01:00 at 03:00 on 31 Oct 2027: 25 wall-clock hours pass between
    # Saturday 09:00 and Sunday 09:00, so that move is not within 24 h; Sunday 08:00 is.
    saturday = "2027-10-30T09:00:00+02:00"
    assert not decide(
        reschedule("2027-10-31T09:00:00+01:00", saturday, old_start="2027-11-10T12:00:00+01:00")
    ).alert
    assert decide(
        reschedule("2027-10-31T08:00:00+01:00", saturday, old_start="2027-11-10T12:00:00+01:00")
    ).alert


def test_a_move_further_away_within_the_next_weeks_stays_silent() -> None:
    change = reschedule("2027-09-20T12:00:00+02:00", changed_at="2027-09-08T18:00:00+02:00")
    assert (decide(change).alert, decide(change).reason) == (False, Reason.EARLY_RESCHEDULE)


def test_window_is_a_parameter() -> None:
    change = cancellation_at("2027-09-07T13:00:00+02:00")  # 47 h before
    assert not decide(change).alert
    assert decide(change, window=timedelta(hours=48)).alert


def test_a_move_into_a_longer_window_alerts_as_short_notice() -> None:
    # A calendar with a 48-hour window: a move from next week to 40 h after the change.
    change = reschedule("2027-09-10T10:00:00+02:00", changed_at="2027-09-08T18:00:00+02:00")
    assert decide(change).reason is Reason.EARLY_RESCHEDULE
    decision = decide(change, window=timedelta(hours=48))
    assert (decision.alert, decision.reason) == (True, Reason.RESCHEDULED_INTO_SHORT_NOTICE)


# ------------------------------------------------------------------------------------------------
# A parked alert redriven later must still tell the truth about its appointment
# ------------------------------------------------------------------------------------------------
START = datetime.fromisoformat(BOOKED["starts_at"])


@pytest.mark.parametrize(
    ("kind", "current", "why"),
    [
        ("booked", appointment(), None),
        # The same instant written with another offset is the same start.
        ("booked", appointment(starts_at="2027-09-09T10:00:00+00:00"), None),
        ("booked", None, "deleted since"),
        ("booked", appointment(status="cancelled"), "cancelled since"),
        ("rescheduled", appointment(status="cancelled"), "cancelled since"),
        (
            "rescheduled",
            appointment(starts_at="2027-09-10T08:00:00+02:00"),
            "moved since to 2027-09-10T08:00:00+02:00",
        ),
        ("cancelled", appointment(status="cancelled"), None),
        ("cancelled", None, None),
        ("cancelled", appointment(), "booked again since"),
        ("test", None, None),
    ],
)
def test_a_redriven_alert_is_held_back_when_a_later_change_made_it_untrue(
    kind: str, current: Appointment | None, why: str | None
) -> None:
    assert superseded(kind, START, current) == why
