"""``redrive``: dead letters go back for another attempt once their cause is fixed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from practitioner_alerts.adapters.dynamodb import to_item
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts_local.cli import main
from practitioner_alerts_local.redrive import local_targets, redrive
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.stack import AwsClients, LocalStack
from tests.local.conftest import write_bookings
from tests.local.test_serve import free_port


def queue_depth(runtime: LocalRuntime, logical_id: str) -> int:
    attributes = runtime.clients("sqs").get_queue_attributes(
        QueueUrl=runtime.stack.ref(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def sms_for(runtime: LocalRuntime, appointment_id: str) -> list[Any]:
    return [m for m in runtime.report().sent if m.channel == "sms" and m.appointment_id == appointment_id]


def break_settings(runtime: LocalRuntime) -> None:
    # Written around the API: a landline where a mobile belongs, so alerts for it are parked.
    runtime.clients("dynamodb").put_item(
        TableName=runtime.stack.ref("CalendarSettingsTable"),
        Item=to_item({"calendar_id": "cal-broken", "alert_mobile": "030 1234567"}),
    )


def test_a_parked_booking_goes_out_once_its_calendar_is_fixed(runtime: LocalRuntime) -> None:
    break_settings(runtime)
    write_bookings(runtime, "apt-parked", calendar_id="cal-broken")
    runtime.drain()
    assert queue_depth(runtime, "StreamDeadLetterQueue") == 1
    assert sms_for(runtime, "apt-parked") == []

    # A dry run lists it and changes nothing.
    (planned,) = redrive(local_targets(runtime), dry_run=True)
    assert (planned.letter.source, planned.moved) == ("detector", False)
    assert "alert_mobile" in planned.letter.reason
    assert queue_depth(runtime, "StreamDeadLetterQueue") == 1

    runtime.put_calendars([CalendarSettings(calendar_id="cal-broken", alert_mobile="+4915123456789")])
    (outcome,) = redrive(local_targets(runtime), dry_run=False)
    assert outcome.moved, outcome.detail
    runtime.drain()
    assert queue_depth(runtime, "StreamDeadLetterQueue") == 0
    assert len(sms_for(runtime, "apt-parked")) == 1


def test_an_email_rejected_by_ses_is_requeued_and_delivered_once(runtime: LocalRuntime) -> None:
    sesv2 = runtime.clients("sesv2")
    sender = runtime.stack.sender_identity
    assert sender
    sesv2.delete_email_identity(EmailIdentity=sender)  # SES now rejects the sender: permanent
    write_bookings(runtime, "apt-rejected")
    runtime.drain()
    assert queue_depth(runtime, "NotificationDeadLetterQueue") == 1
    emails = [m for m in runtime.report().sent if m.channel == "email"]
    assert emails == []

    sesv2.create_email_identity(EmailIdentity=sender)
    outcomes = redrive(local_targets(runtime), dry_run=False)
    assert [(o.letter.source, o.moved) for o in outcomes] == [("sender", True)]
    runtime.drain()
    emails = [m for m in runtime.report().sent if m.channel == "email"]
    assert [m.appointment_id for m in emails] == ["apt-rejected"]
    # The SMS of the same booking had gone out before; the redrive did not send it again.
    assert len(sms_for(runtime, "apt-rejected")) == 1
    assert redrive(local_targets(runtime), dry_run=False) == []


def test_a_record_that_is_still_broken_is_parked_again_with_its_reason(runtime: LocalRuntime) -> None:
    break_settings(runtime)
    write_bookings(runtime, "apt-still-broken", calendar_id="cal-broken")
    runtime.drain()
    (outcome,) = redrive(local_targets(runtime), dry_run=False)
    # Still broken: the detector parks it again with the same reason, so it is back in the DLQ.
    assert outcome.moved
    runtime.drain()
    (again,) = redrive(local_targets(runtime), dry_run=True)
    assert "alert_mobile" in again.letter.reason


def test_cli_dry_run_against_a_running_local_stack(capsys: Any) -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        stack = LocalStack.from_files(AwsClients("eu-central-1", endpoint))
        stack.create()
        stack.clients("sqs").send_message(
            QueueUrl=stack.ref("StreamDeadLetterQueue"),
            MessageBody=json.dumps(
                {"source": "detector", "reason": "NewImage.starts_at: missing", "payload": {}}
            ),
        )
        assert main(["redrive", "--endpoint-url", endpoint, "--dry-run", "--json"]) == 0
        (listed,) = json.loads(capsys.readouterr().out)
        assert listed["source"] == "detector" and listed["reason"] == "NewImage.starts_at: missing"
        assert listed["moved"] is False
        assert main(["redrive", "--endpoint-url", endpoint, "--dry-run"]) == 0
        assert "dry run, nothing changed" in capsys.readouterr().out
    finally:
        server.stop()


def test_cli_needs_to_be_told_where(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["redrive", "--dry-run"])
    assert exit_.value.code == 2
    assert "--endpoint-url" in capsys.readouterr().err


def cancel(runtime: LocalRuntime, appointment_id: str, changed_at: str) -> None:
    runtime.clients("dynamodb").update_item(
        TableName=runtime.appointments_table(),
        Key={"appointment_id": {"S": appointment_id}},
        UpdateExpression="SET #s = :cancelled, changed_at = :at",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":cancelled": {"S": "cancelled"}, ":at": {"S": changed_at}},
    )


def test_a_parked_booking_cancelled_since_is_not_redriven(runtime: LocalRuntime) -> None:
    break_settings(runtime)
    write_bookings(runtime, "apt-gone", calendar_id="cal-broken")
    runtime.drain()
    cancel(runtime, "apt-gone", "2027-09-02T10:00:00+02:00")  # early: silent, nothing parked
    runtime.drain()
    runtime.put_calendars([CalendarSettings(calendar_id="cal-broken", alert_mobile="+4915123456789")])

    (planned,) = redrive(local_targets(runtime), dry_run=True)
    assert (planned.superseded, planned.moved) == ("cancelled since", False)
    assert queue_depth(runtime, "StreamDeadLetterQueue") == 1

    (outcome,) = redrive(local_targets(runtime), dry_run=False)
    runtime.drain()
    assert outcome.superseded == "cancelled since"
    assert sms_for(runtime, "apt-gone") == []
    assert queue_depth(runtime, "StreamDeadLetterQueue") == 0


def test_after_an_outage_the_practitioners_last_word_on_a_cancelled_slot_is_the_cancellation(
    runtime: LocalRuntime,
) -> None:
    sesv2 = runtime.clients("sesv2")
    sender = runtime.stack.sender_identity
    assert sender
    sesv2.delete_email_identity(EmailIdentity=sender)
    write_bookings(runtime, "apt-1")
    runtime.drain()
    cancel(runtime, "apt-1", "2027-09-09T08:00:00+02:00")  # 4 h before the start: alerts
    runtime.drain()
    assert queue_depth(runtime, "NotificationDeadLetterQueue") == 2  # both e-mails rejected

    sesv2.create_email_identity(EmailIdentity=sender)
    outcomes = redrive(local_targets(runtime), dry_run=False)
    runtime.drain()

    assert sorted((o.superseded or "", o.moved) for o in outcomes) == [("", True), ("cancelled since", False)]
    emails = [m for m in runtime.report().sent if m.channel == "email"]
    assert len(emails) == 1 and "Absage" in (emails[0].subject or "")
