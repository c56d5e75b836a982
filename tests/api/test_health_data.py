"""The visit motive is health data: off in e-mails unless the calendar opts in, never by SMS."""

from __future__ import annotations

from datetime import UTC, datetime

from practitioner_alerts.domain.notifications import AlertContent, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.rendering import render_email, render_sms
from tests.api.conftest import ApiClient, Stack

SETTINGS = "/calendars/cal-a/alert-settings"
WEBER = CalendarSettings(
    calendar_id="cal-a", alert_email="praxis@example.com", alert_mobile="+4915123456789"
).with_contacts_verified()
BOOKING = AlertContent(
    kind="booked",
    calendar_id="cal-a",
    appointment_id="apt-1",
    starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
    changed_at=datetime(2027, 9, 1, 16, tzinfo=UTC),
    patient_first_name="Maria",
    patient_last_name="Müller",
    visit_motive="Schwangerschaftsvorsorge",
    time_zone="Europe/Berlin",
    locale="de",
)


def by_channel(settings: CalendarSettings) -> dict[str, AlertContent]:
    return {n.channel: n.alert for n in notifications_for(BOOKING, settings, in_app=True)}


def test_by_default_no_message_names_the_visit_motive() -> None:
    alerts = by_channel(WEBER)
    assert alerts["email"].visit_motive is None and alerts["sms"].visit_motive is None
    email = render_email(alerts["email"])
    for text in (email.subject, email.text, email.html, render_sms(alerts["sms"])):
        assert "Schwangerschaft" not in text
    # The feed, behind the practitioner's login, keeps it.
    assert alerts["in_app"].visit_motive == "Schwangerschaftsvorsorge"


def test_opted_in_the_email_names_it_and_the_sms_still_does_not() -> None:
    alerts = by_channel(WEBER.model_copy(update={"visit_motive_in_email": True}))
    assert "Schwangerschaftsvorsorge" in render_email(alerts["email"]).text
    assert alerts["sms"].visit_motive is None
    assert "Schwangerschaft" not in render_sms(alerts["sms"])


def test_the_setting_is_off_until_switched_on_and_explained_in_the_calendars_language(
    client: ApiClient, stack: Stack
) -> None:
    shown = client.get(SETTINGS).body
    assert shown["visit_motive_in_email"] is False
    assert "Gesundheitsangabe" in shown["explanations"]["visit_motive_in_email"]

    on = client.put(
        SETTINGS, {"alert_email": "praxis@example.com", "visit_motive_in_email": True, "locale": "fr"}
    )
    assert on.body["visit_motive_in_email"] is True
    assert "donnée de santé" in on.body["explanations"]["visit_motive_in_email"]
    stored = stack.settings.get("cal-a")
    assert stored is not None and stored.visit_motive_in_email is True

    # A PATCH of something else leaves it; PUT without it switches it off again.
    assert client.patch(SETTINGS, {"locale": "it"}).body["visit_motive_in_email"] is True
    assert client.put(SETTINGS, {"alert_email": "praxis@example.com"}).body["visit_motive_in_email"] is False
