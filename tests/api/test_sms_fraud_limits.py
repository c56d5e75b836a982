"""SMS toll fraud: numbers only in the allowed countries, never satellite or premium, and test
and verification sends bounded per calendar and per person (token subject)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from practitioner_alerts.adapters.dynamodb import DeliveryLogTable
from practitioner_alerts.adapters.sqs import NotificationQueue
from practitioner_alerts.settings_api import SettingsService
from practitioner_alerts.settings_api.models import AlertSettingsInput
from practitioner_alerts.settings_api.service import ApiProblem
from tests.api.conftest import ApiClient, Stack

SETTINGS = "/calendars/cal-a/alert-settings"


@pytest.mark.parametrize(
    ("number", "says"),
    [
        ("+881631234567", "satellite or other non-geographic number"),  # Iridium
        ("+870772123456", "satellite or other non-geographic number"),  # Inmarsat
        ("+5352123456", "is a number of CU"),
        ("+998901234567", "is a number of UZ"),
        ("+252612345678", "is a number of SO"),
        ("+447624123456", "is a number of IM"),  # the Isle of Man, not the UK
        ("+12015550123", "is a number of US"),  # "fixed line or mobile" in the US
        ("+14165550123", "is a number of CA"),
    ],
)
def test_numbers_outside_the_allowed_countries_are_refused_naming_the_field(
    client: ApiClient, stack: Stack, number: str, says: str
) -> None:
    reply = client.put(SETTINGS, {"alert_mobile": number})
    assert reply.status == 422
    [error] = reply.body["errors"]
    assert error["field"] == "alert_mobile" and says in error["message"]
    if "is a number of" in says:
        assert "DE" in error["message"] and "GB" in error["message"]  # where SMS may go
    assert stack.settings_items() == []
    assert stack.queued() == []  # no code went to it either


@pytest.mark.parametrize("number", ["+41791234567", "+447400123456", "+4367612345678", "+33612345678"])
def test_numbers_in_the_eu_eea_switzerland_and_the_uk_are_accepted(client: ApiClient, number: str) -> None:
    assert client.put(SETTINGS, {"alert_mobile": number}).status == 200


def test_a_country_error_comes_with_the_other_field_errors(client: ApiClient) -> None:
    reply = client.put(SETTINGS, {"alert_mobile": "+5352123456", "locale": "es"})
    assert {e["field"] for e in reply.body["errors"]} == {"alert_mobile", "locale"}


def test_the_allowed_countries_come_from_the_deployment(stack: Stack) -> None:
    service = SettingsService(
        stack.settings,
        stack.feed,
        NotificationQueue(stack.sqs, stack.queue_url),
        3,
        sms_countries=frozenset({"CH"}),
    )
    with pytest.raises(ApiProblem) as refused:
        service.replace_settings("cal-a", AlertSettingsInput(alert_mobile="+4915123456789"))
    problem = refused.value.errors[0]
    assert "is a number of DE; SMS alerts go only to mobile numbers of CH" in problem.message
    assert problem.reason == "sms_country_not_allowed"
    assert problem.details == {"allowed": ["CH"], "country": "DE"}
    service.replace_settings("cal-a", AlertSettingsInput(alert_mobile="+41791234567"))


# ------------------------------------------------------------------------------------------------
# Sends on request: per calendar, and per person across their calendars
# ------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 9, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def service(stack: Stack, clock: Clock, **limits: int) -> SettingsService:
    return SettingsService(
        stack.settings,
        stack.feed,
        NotificationQueue(stack.sqs, stack.queue_url),
        3,
        clock=clock,
        delivery_log=DeliveryLogTable(stack.dynamodb, stack.delivery_log_table),
        **limits,  # type: ignore[arg-type]
    )


def test_a_calendar_gets_at_most_five_codes_an_hour(stack: Stack) -> None:
    clock = Clock()
    settings = service(stack, clock)
    outcomes = []
    for index in range(6):
        reply = settings.replace_settings(
            "cal-a", AlertSettingsInput(alert_mobile=f"+49151234567{index:02d}")
        )
        outcomes.append([w.code for w in reply.view.warnings])
        clock.now += timedelta(seconds=61)
    assert outcomes[:5] == [["contact_not_verified"]] * 5
    assert outcomes[5] == ["contact_not_verified", "verification_not_sent"]
    assert len(stack.queued()) == 5
    with pytest.raises(ApiProblem) as refused:
        settings.request_code("cal-a", "sms")
    assert (refused.value.status, refused.value.code) == (429, "too_many_codes")
    assert refused.value.headers["Retry-After"] == str(3600 - 6 * 61)


def test_one_person_gets_at_most_ten_tests_and_codes_an_hour_across_calendars(
    issuer: object, stack: Stack
) -> None:
    calendars = [f"cal-{index}" for index in range(5)]
    for calendar in calendars:
        stack.settings.put(
            stack.settings.read(calendar).current.model_copy(
                update={"alert_email": f"{calendar}@example.com", "verified_email": f"{calendar}@example.com"}
            )
        )
    client = ApiClient(issuer, calendars=calendars)  # type: ignore[arg-type]
    statuses = [
        client.post(f"/calendars/{calendar}/alert-settings/test").status for calendar in calendars * 3
    ]
    # Three tests per calendar would be fifteen; the person's own allowance stops at ten.
    assert statuses.count(202) == 10
    refused = client.post("/calendars/cal-0/alert-settings/test")
    assert refused.status == 429 and refused.body["code"] in {"too_many_tests", "too_many_sends"}
    # The eleventh of a calendar that still has tests left is the person's limit speaking.
    fresh = ApiClient(issuer, calendars=[*calendars, "cal-new"])  # type: ignore[arg-type]
    stack.settings.put(
        stack.settings.read("cal-new").current.model_copy(
            update={"alert_email": "new@example.com", "verified_email": "new@example.com"}
        )
    )
    assert fresh.post("/calendars/cal-new/alert-settings/test").body["code"] == "too_many_sends"
    assert len(stack.queued()) == 10
