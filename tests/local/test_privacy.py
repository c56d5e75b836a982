"""No phone number, e-mail address or patient name in any log line or metric dimension.

Runs the end-to-end paths — the demo day, every sample stream event, settings saved and read
through the API, a test send, a delivery rejected by SES — capturing everything the functions
write (Powertools JSON logs and EMF metrics) and every Python log record, then searches it for
the personal data those paths carried.
"""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest

from practitioner_alerts_local.api import LocalTokenIssuer, invoke_in_process
from practitioner_alerts_local.api.gateway import LocalSettingsApi
from practitioner_alerts_local.cli import read_stream_event
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.scenario import DAY, ScenarioClock, demo_calendars, run_day
from tests.conftest import EVENTS

# International numbers anywhere; national ones are caught as the known values they are (ids,
# sequence numbers and timestamps are long digit runs too, so a bare-digit pattern would cry wolf).
PHONE = re.compile(r"\+\d[\d ()/-]{7,}\d")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# The sender's own address is configuration, not personal data.
ALLOWED_EMAILS = {"alerts@example.com"}


def personal_data() -> set[str]:
    """Every contact and patient name the exercised paths carry."""
    values: set[str] = set()
    for calendar in demo_calendars():
        values.update(v for v in (calendar.alert_email, calendar.alert_mobile) if v)
    for path in EVENTS.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        for field in ("patient_first_name", "patient_last_name", "alert_email", "to"):
            values.update(re.findall(rf'"{field}":\s*(?:\{{"S":\s*)?"([^"]+)"', text))
    for step in DAY:
        values.update(re.findall(r"\b[A-Z][a-zü]+ [A-Z][a-zü]+\b", step.description))
    values.update({"Maria", "Müller", "+4915123456789", "praxis.weber@example.com"})
    return {v for v in values if len(v) > 2 and v not in ALLOWED_EMAILS and not v.startswith("Dr")}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> io.StringIO:
    # Everything at the level Lambda runs with, and our own loggers down to DEBUG. (botocore's
    # DEBUG wire dumps are off in Lambda as here; they would show request bodies.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="practitioner-alerts")
    return io.StringIO()


def exercise_everything(runtime: LocalRuntime) -> None:
    run_day(runtime, ScenarioClock(datetime.fromisoformat(DAY[0].at)))
    for path in sorted(Path(EVENTS).glob("stream-*.json")):
        runtime.replay(read_stream_event(path))
        runtime.drain()
    issuer = LocalTokenIssuer()
    api = LocalSettingsApi(issuer=issuer, invoke=invoke_in_process(runtime.function("SettingsApiFunction")))
    auth = [("authorization", f"Bearer {issuer.issue_token(['cal-dr-weber'])}")]
    base = "/calendars/cal-dr-weber"
    body = {"alert_email": "dr.weber@hotmail.de", "alert_mobile": "0151 23456789", "locale": "de"}
    assert api.handle_http("PUT", f"{base}/alert-settings", auth, json.dumps(body).encode()).status == 200
    bad = {"alert_email": "a@@b", "alert_mobile": "030 1234567"}
    assert api.handle_http("PUT", f"{base}/alert-settings", auth, json.dumps(bad).encode()).status == 422
    assert api.handle_http("GET", f"{base}/alert-settings", auth).status == 200
    assert api.handle_http("POST", f"{base}/alert-settings/test", auth).status == 202
    assert api.handle_http("GET", f"{base}/alerts", auth).status == 200
    # A rejected e-mail: the failure is logged and parked, with the reason but not the address.
    sesv2 = runtime.clients("sesv2")
    assert runtime.stack.sender_identity
    sesv2.delete_email_identity(EmailIdentity=runtime.stack.sender_identity)
    runtime.replay(read_stream_event(EVENTS / "stream-late-cancellation.json"))
    runtime.drain()


def test_no_contact_or_patient_name_reaches_a_log_line_or_metric(
    logs: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    with LocalRuntime.embedded(lambda_logs=logs, clock=lambda: 1_820_000_000.0) as runtime:
        runtime.put_calendars(demo_calendars())
        exercise_everything(runtime)
        sent = runtime.report().sent
    assert len(sent) >= 5, "the paths must actually have sent messages for this test to mean anything"

    lines = logs.getvalue().splitlines() + [record.getMessage() for record in caplog.records]
    lines += [json.dumps(record.__dict__, default=str) for record in caplog.records]
    assert len(lines) > 50
    leaks = [(value, line[:160]) for line in lines for value in personal_data() if value in line]
    assert leaks == []
    for line in lines:
        for found in EMAIL.findall(line):
            assert found in ALLOWED_EMAILS, line[:200]
        assert not PHONE.search(line), line[:200]


def test_metric_dimensions_carry_no_personal_data(logs: io.StringIO) -> None:
    with LocalRuntime.embedded(lambda_logs=logs) as runtime:
        runtime.put_calendars(demo_calendars())
        exercise_everything(runtime)
    metrics = [json.loads(line) for line in logs.getvalue().splitlines() if '"_aws"' in line]
    assert metrics, "EMF metric lines are expected from the functions"
    for metric in metrics:
        for dimension_set in metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"]:
            for name in dimension_set:
                value = str(metric.get(name, ""))
                assert not EMAIL.search(value) and not PHONE.search(value), (name, value)
                assert value not in personal_data()
