"""Contact verification through the whole local stack: a pending contact gets no alert but its
code, and the pop-up feed goes on regardless; once confirmed, the next booking reaches it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.api import LocalSettingsApi, LocalTokenIssuer, invoke_in_process
from practitioner_alerts_local.runtime import LocalRuntime
from tests.local.conftest import write_bookings

CALENDAR = "cal-dr-neu"
MOBILE = "+4915199998888"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime.embedded(lambda_logs=io.StringIO()) as running:
        yield running


def test_a_pending_contact_gets_no_alert_while_the_feed_shows_it(runtime: LocalRuntime) -> None:
    settings = CalendarSettings(calendar_id=CALENDAR, alert_mobile=MOBILE, alert_email="neu@example.com")
    runtime.put_calendars([settings], verified=False)

    write_bookings(runtime, "apt-pending", calendar_id=CALENDAR)
    runtime.drain()

    report = runtime.report()
    assert report.sent == []
    [decision] = report.decisions
    assert decision["alert"] is True
    assert [entry["appointment_id"] for entry in runtime.feed()] == ["apt-pending"]


def test_an_imported_calendar_counts_as_verified(runtime: LocalRuntime) -> None:
    runtime.put_calendars([CalendarSettings(calendar_id=CALENDAR, alert_mobile=MOBILE)])
    write_bookings(runtime, "apt-imported", calendar_id=CALENDAR)
    runtime.drain()
    assert [(m.channel, m.to) for m in runtime.report().sent] == [("sms", MOBILE)]


def test_enter_confirm_and_the_next_booking_is_delivered(runtime: LocalRuntime, tmp_path: Path) -> None:
    issuer = LocalTokenIssuer(state_dir=tmp_path)
    api = LocalSettingsApi(issuer=issuer, invoke=invoke_in_process(runtime.function("SettingsApiFunction")))
    headers = [
        ("Authorization", f"Bearer {issuer.issue_token([CALENDAR])}"),
        ("Content-Type", "application/json"),
    ]
    base = f"/calendars/{CALENDAR}/alert-settings"

    saved = api.handle_http("PUT", base, headers, json.dumps({"alert_mobile": MOBILE}).encode())
    assert saved.status == 200
    runtime.drain()
    [code_sms] = runtime.report().sent
    assert (code_sms.channel, code_sms.to) == ("sms", MOBILE)

    write_bookings(runtime, "apt-before", calendar_id=CALENDAR)
    runtime.drain()
    assert len(runtime.report().sent) == 1  # still only the code

    code = re.search(r"\b\d{6}\b", code_sms.text)
    assert code is not None
    body = json.dumps({"channel": "sms", "code": code.group()}).encode()
    assert api.handle_http("POST", f"{base}/verification/confirm", headers, body).status == 200

    write_bookings(runtime, "apt-after", calendar_id=CALENDAR)
    runtime.drain()
    sent = runtime.report().sent
    assert [(m.channel, m.to, m.appointment_id) for m in sent[1:]] == [("sms", MOBILE, "apt-after")]
    assert {entry["appointment_id"] for entry in runtime.feed()} == {"apt-before", "apt-after"}
