"""Each AWS adapter against moto: what AWS would accept, refuse or deduplicate."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from moto.ses.models import ses_backends

from practitioner_alerts.adapters.dynamodb import (
    AlertsFeedTable,
    CachedCalendarSettings,
    CalendarSettingsTable,
    DeliveryFailure,
    DeliveryLogTable,
    FeedEntry,
    InvalidSettings,
)
from practitioner_alerts.adapters.ses import EmailGateway
from practitioner_alerts.adapters.sns import SmsGateway
from practitioner_alerts.adapters.sqs import DeadLetterQueue, InFlightMessages, NotificationQueue
from practitioner_alerts.domain.notifications import AlertContent, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.errors import OperatorError, PermanentError, TransientError
from practitioner_alerts.rendering import Email
from tests.integration.conftest import client, make_fifo_queue, make_table, receive_all

pytestmark = pytest.mark.usefixtures("aws")

WEBER = CalendarSettings(
    calendar_id="cal-dr-weber", alert_email="praxis.weber@example.com", alert_mobile="+4915123456789"
).with_contacts_verified()
BOOKING = AlertContent(
    kind="booked",
    calendar_id="cal-dr-weber",
    appointment_id="apt-1001",
    starts_at=datetime(2027, 9, 9, 10, tzinfo=UTC),
    changed_at=datetime(2027, 9, 1, 16, tzinfo=UTC),
    time_zone="Europe/Berlin",
    locale="de",
)


def test_queueing_the_same_notifications_twice_leaves_one_copy_each() -> None:
    url = make_fifo_queue("notifications")
    queue = NotificationQueue(client("sqs"), url)
    notifications = notifications_for(BOOKING, WEBER, in_app=True)
    queue.enqueue(notifications)
    queue.enqueue(notifications)  # a redelivered stream batch
    messages = receive_all(url)
    assert sorted(json.loads(m["Body"])["channel"] for m in messages) == ["email", "in_app", "sms"]
    # One group per appointment and channel: a failing SMS holds back neither e-mail nor pop-up.
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {
        "apt-1001#sms",
        "apt-1001#email",
        "apt-1001#in_app",
    }


def test_partial_failure_of_a_batch_send_is_not_taken_for_success() -> None:
    sqs = client("sqs")
    queue = NotificationQueue(sqs, "https://sqs.eu-central-1.amazonaws.com/123456789012/n.fifo")
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "m", "MD5OfMessageBody": "x"}],
                "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
            },
        )
        with pytest.raises(TransientError, match="failed 1 of 2"):
            queue.enqueue(notifications_for(BOOKING, WEBER, in_app=False))


def _alerts(*appointment_ids: str) -> list[list[Any]]:
    return [
        notifications_for(BOOKING.model_copy(update={"appointment_id": a}), WEBER, in_app=True)
        for a in appointment_ids
    ]


def _requests(sqs: Any) -> list[list[dict[str, Any]]]:
    sent: list[list[dict[str, Any]]] = []
    sqs.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch", lambda params, **_: sent.append(params["Entries"])
    )
    return sent


def test_a_batch_of_alerts_is_queued_ten_notifications_to_a_request() -> None:
    url = make_fifo_queue("notifications")
    sqs = client("sqs")
    sent = _requests(sqs)
    outcome = NotificationQueue(sqs, url).enqueue_in_order(_alerts(*(f"apt-{i}" for i in range(7))))
    assert outcome.retry_from is None and not outcome.rejected
    assert [len(entries) for entries in sent] == [10, 10, 1]
    assert len(receive_all(url)) == 21


def test_no_request_starts_once_the_invocation_may_end_before_it_does() -> None:
    url = make_fifo_queue("notifications")
    sqs = client("sqs")
    sent = _requests(sqs)
    answers = iter([True, False])

    outcome = NotificationQueue(sqs, url).enqueue_in_order(
        _alerts(*(f"apt-{i}" for i in range(7))), lambda: next(answers)
    )

    assert [len(entries) for entries in sent] == [10]
    # The 11th notification belongs to the fourth alert: it and all after it come again.
    assert outcome.retry_from == 3 and outcome.retry_reason.startswith("out of time")


def test_a_second_change_to_the_same_appointment_starts_a_new_request() -> None:
    sqs = client("sqs")
    sent = _requests(sqs)
    url = make_fifo_queue("notifications")
    booked, cancelled = _alerts("apt-1", "apt-1")
    cancelled = [n.model_copy(update={"notification_id": n.notification_id + "-c"}) for n in cancelled]
    NotificationQueue(sqs, url).enqueue_in_order([booked, cancelled])
    # Refused alone, the booking could otherwise be overtaken by its cancellation in one request.
    assert [len(entries) for entries in sent] == [3, 3]


def test_a_failed_request_stops_the_batch_at_the_first_record_not_queued() -> None:
    sqs = client("sqs")
    queue = NotificationQueue(sqs, "https://sqs.eu-central-1.amazonaws.com/123456789012/n.fifo")
    accepted = [{"Id": str(i), "MessageId": "m", "MD5OfMessageBody": "x"} for i in range(10)]
    with Stubber(sqs) as stub:
        stub.add_response("send_message_batch", {"Successful": accepted, "Failed": []})
        stub.add_response(
            "send_message_batch",
            {
                "Successful": accepted[:4] + accepted[5:],
                "Failed": [{"Id": "4", "SenderFault": False, "Code": "InternalError"}],
            },
        )
        outcome = queue.enqueue_in_order(_alerts(*(f"apt-{i}" for i in range(8))))
        stub.assert_no_pending_responses()
    # The failed entry (the 15th) belongs to the fifth alert: it and all after it go again.
    assert outcome.retry_from == 4
    assert "failed 1 of 10: InternalError" in outcome.retry_reason
    assert not outcome.rejected


def test_an_entry_sqs_will_never_take_rejects_only_its_record() -> None:
    sqs = client("sqs")
    queue = NotificationQueue(sqs, "https://sqs.eu-central-1.amazonaws.com/123456789012/n.fifo")
    accepted = [{"Id": str(i), "MessageId": "m", "MD5OfMessageBody": "x"} for i in range(6)]
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message_batch",
            {
                "Successful": accepted[:4] + accepted[5:],
                "Failed": [{"Id": "4", "SenderFault": True, "Code": "InvalidParameterValue"}],
            },
        )
        outcome = queue.enqueue_in_order(_alerts("apt-1", "apt-2"))
    assert outcome.retry_from is None
    assert outcome.rejected == {1: "sqs.SendMessageBatch rejected an entry: InvalidParameterValue"}


def _with_motive(appointment_id: str, size: int) -> list[Any]:
    alert = BOOKING.model_copy(update={"appointment_id": appointment_id, "visit_motive": "x" * size})
    # The e-mail only, of a calendar that lets e-mails name the motive (the large part here).
    return notifications_for(alert, WEBER.model_copy(update={"visit_motive_in_email": True}), in_app=False)[
        1:
    ]


def test_a_notification_too_large_for_sqs_is_rejected_alone_and_the_others_are_queued() -> None:
    url = make_fifo_queue("notifications")
    outcome = NotificationQueue(client("sqs"), url).enqueue_in_order(
        [_with_motive("apt-1", 10), _with_motive("apt-2", 1_100_000), _with_motive("apt-3", 10)]
    )
    assert outcome.retry_from is None
    assert outcome.rejected == {1: "sqs.SendMessageBatch: BatchRequestTooLong"}
    assert [m["Attributes"]["MessageGroupId"] for m in receive_all(url)] == ["apt-1#email", "apt-3#email"]


def test_a_request_sqs_finds_too_long_is_halved_until_it_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if our estimate of the size said "fits" and SQS (moto: 1 MiB a request) disagreed.
    monkeypatch.setattr("practitioner_alerts.adapters.sqs.MESSAGE_LIMIT_BYTES", 10_000_000)
    url = make_fifo_queue("notifications")
    sqs = client("sqs")
    sent = _requests(sqs)
    outcome = NotificationQueue(sqs, url).enqueue_in_order(
        [_with_motive(f"apt-{i}", 400_000) for i in range(1, 4)]
    )
    assert outcome.retry_from is None and not outcome.rejected
    assert [len(entries) for entries in sent] == [3, 1, 2]
    assert [m["Attributes"]["MessageGroupId"] for m in receive_all(url)] == [
        "apt-1#email",
        "apt-2#email",
        "apt-3#email",
    ]


def test_a_record_too_large_to_park_whole_is_parked_as_its_summary() -> None:
    url = client("sqs").create_queue(QueueName="stream-dlq")["QueueUrl"]
    record = {"eventID": "e1", "dynamodb": {"NewImage": {"visit_motive": {"S": "x" * 400_000}}}}
    DeadLetterQueue(client("sqs"), url).park(
        source="detector",
        reason="NewImage.visit_motive: String should have at most 500 characters",
        payload=record,
        summary={"eventID": "e1", "dynamodb": {"SequenceNumber": "42"}},
    )
    (parked,) = receive_all(url)
    assert len(parked["Body"].encode()) < 262_144
    body = json.loads(parked["Body"])
    assert body["payload"] == {"eventID": "e1", "dynamodb": {"SequenceNumber": "42"}}
    assert body["payload_truncated"] is True
    assert body["reason"].startswith("NewImage.visit_motive: String should have at most 500 characters")


def test_throttling_is_transient_and_a_rejected_address_is_permanent() -> None:
    sns = client("sns")
    gateway = SmsGateway(sns, "Praxis")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
        stub.add_client_error("publish", service_error_code="InvalidParameter", http_status_code=400)
        with pytest.raises(TransientError):
            gateway.send("+4915123456789", "x")
        with pytest.raises(PermanentError):
            gateway.send("+4915123456789", "x")


def test_an_invalid_number_is_permanent_and_a_missing_permission_is_the_operators() -> None:
    sns = client("sns")
    gateway = SmsGateway(sns, "Praxis")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", service_error_code="ParameterValueInvalid", http_status_code=400)
        stub.add_client_error("publish", service_error_code="AuthorizationError", http_status_code=403)
        with pytest.raises(PermanentError, match="ParameterValueInvalid"):
            gateway.send("+4915123456789", "x")
        with pytest.raises(OperatorError, match="AuthorizationError"):
            gateway.send("+4915123456789", "x")


def test_a_missing_configuration_set_is_the_operators_failure_not_the_addresss() -> None:
    ses = client("sesv2")
    gateway = EmailGateway(ses, "alerts@example.com", "gone")
    with Stubber(ses) as stub:
        stub.add_client_error("send_email", service_error_code="NotFoundException", http_status_code=404)
        with pytest.raises(OperatorError, match="NotFoundException") as raised:
            gateway.send("praxis@example.com", Email(subject="s", text="t", html="<p>h</p>"))
    assert not isinstance(raised.value, PermanentError)


def test_parked_record_keeps_its_reason_and_original_payload() -> None:
    standard = client("sqs").create_queue(QueueName="stream-dlq")["QueueUrl"]
    fifo = make_fifo_queue("notifications-dlq")
    DeadLetterQueue(client("sqs"), standard).park(
        source="detector", reason="NewImage.starts_at: missing", payload={"eventID": "e1"}
    )
    DeadLetterQueue(client("sqs"), fifo).park(
        source="sender", reason="sns.Publish: InvalidParameter", payload={"messageId": "m1"}, group="apt-1"
    )
    (parked,) = receive_all(standard)
    assert json.loads(parked["Body"]) == {
        "source": "detector",
        "reason": "NewImage.starts_at: missing",
        "payload": {"eventID": "e1"},
    }
    (parked_fifo,) = receive_all(fifo)
    assert json.loads(parked_fifo["Body"])["reason"] == "sns.Publish: InvalidParameter"


def test_settings_for_more_calendars_than_one_batch_get_takes() -> None:
    make_table("settings", "calendar_id")
    table = CalendarSettingsTable(client("dynamodb"), "settings")
    for i in range(130):
        table.put(CalendarSettings(calendar_id=f"cal-{i}", alert_email=f"p{i}@example.com"))
    found = table.get_many([f"cal-{i}" for i in range(150)])
    assert len(found) == 130
    assert found["cal-129"].alert_email == "p129@example.com"
    assert table.get("cal-1") == found["cal-1"]
    assert table.get("cal-unknown") is None


def test_invalid_stored_settings_are_reported_per_calendar_naming_the_field() -> None:
    make_table("settings", "calendar_id")
    table = CalendarSettingsTable(client("dynamodb"), "settings")
    table.put(WEBER)
    client("dynamodb").put_item(
        TableName="settings", Item={"calendar_id": {"S": "cal-x"}, "alert_mobile": {"S": "030 1234567"}}
    )
    found = table.get_many(["cal-x", "cal-dr-weber"])
    assert found["cal-dr-weber"] == WEBER  # one broken calendar does not hide the others
    broken = found["cal-x"]
    assert isinstance(broken, InvalidSettings) and "alert_mobile" in broken.reason


def test_deleting_a_contact_takes_effect_once_the_cache_expires() -> None:
    make_table("settings", "calendar_id")
    table = CalendarSettingsTable(client("dynamodb"), "settings")
    table.put(WEBER)
    now = [0.0]
    cached = CachedCalendarSettings(table, ttl_seconds=60, clock=lambda: now[0])
    assert cached.get_many(["cal-dr-weber"])["cal-dr-weber"].channels == ("sms", "email")
    table.put(WEBER.model_copy(update={"alert_mobile": None}))
    now[0] = 59.0
    assert cached.get_many(["cal-dr-weber"])["cal-dr-weber"].channels == ("sms", "email")
    now[0] = 60.0
    assert cached.get_many(["cal-dr-weber"])["cal-dr-weber"].channels == ("email",)


def test_email_goes_out_as_text_and_html_through_the_configuration_set() -> None:
    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    gateway = EmailGateway(ses, "alerts@example.com", "practitioner-alerts")
    gateway.send(
        "praxis.weber@example.com", Email(subject="Neuer Online-Termin", text="Klartext", html="<p>HTML</p>")
    )
    (sent,) = ses_backends["123456789012"]["eu-central-1"].sent_messages
    message = email.message_from_string(sent.raw_data)
    assert message["Subject"] == "Neuer Online-Termin"
    assert message["To"] == "praxis.weber@example.com"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert parts["text/plain"].strip() == "Klartext"
    assert parts["text/html"].strip() == "<p>HTML</p>"


def test_email_from_an_unverified_sender_is_rejected_for_good() -> None:
    gateway = EmailGateway(client("sesv2"), "nobody@example.com", None)
    with pytest.raises(PermanentError, match="MessageRejected"):
        gateway.send("praxis.weber@example.com", Email(subject="s", text="t", html="h"))


def test_a_subject_with_a_line_break_cannot_add_a_header_and_is_refused_for_good() -> None:
    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    gateway = EmailGateway(ses, "alerts@example.com", None)
    with pytest.raises(PermanentError, match="unsendable_header") as raised:
        gateway.send("p@example.com", Email(subject="Hi\r\nBcc: evil@example.com", text="t", html="h"))
    assert "evil" not in raised.value.reason
    assert ses_backends["123456789012"]["eu-central-1"].sent_messages == []


@pytest.mark.parametrize(
    "address",
    [
        "praxis.weber@example.com\r\nBcc: evil@example.com",
        "praxis.weber@example.com\nBcc: evil@example.com",
        "praxis.weber@example.com, evil@example.com",
        "Dr Weber <praxis.weber@example.com>",
        "not an address",
        "praxis.weber",
        "a@b@example.com",
        "praxis\x00@example.com",
        "",
    ],
)
def test_an_address_ses_cannot_take_is_refused_for_good_before_any_request(address: str) -> None:
    # SES (and the MIME library before it) would refuse it the same way on every retry; parked
    # at once, it carries a reason that does not quote it.
    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    gateway = EmailGateway(ses, "alerts@example.com", None)
    with pytest.raises(PermanentError, match="invalid_address") as raised:
        gateway.send(address, Email(subject="s", text="t", html="h"))
    assert "example.com" not in raised.value.reason and "evil" not in raised.value.reason
    assert ses_backends["123456789012"]["eu-central-1"].sent_messages == []


@pytest.mark.parametrize(
    "address", ["praxis.weber@example.com", "müller@praxis.example", "a+b@xn--bcher-kva.de"]
)
def test_plain_addresses_go_out(address: str) -> None:
    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity="alerts@example.com")
    EmailGateway(ses, "alerts@example.com", None).send(address, Email(subject="s", text="t", html="h"))
    (sent,) = ses_backends["123456789012"]["eu-central-1"].sent_messages
    assert sent.destinations[0] == address  # moto adds the To header's addresses after it


def entry(alert_id: str, **changes: Any) -> FeedEntry:
    values: dict[str, Any] = {
        "calendar_id": "cal-dr-weber",
        "alert_id": alert_id,
        "kind": "booked",
        "appointment_id": f"apt-{alert_id}",
        "headline": "Neuer Online-Termin",
        "starts_at": "2027-09-09T12:00:00+02:00",
        "previous_starts_at": None,
        "changed_at": "2027-09-01T18:30:00+02:00",
        "expires_at": 1_900_000_000,
    }
    return FeedEntry(**{**values, **changes})


def test_feed_pages_newest_first_and_a_redelivery_keeps_the_read_flag() -> None:
    make_table("feed", "calendar_id", "alert_id")
    feed = AlertsFeedTable(client("dynamodb"), "feed")
    for day in range(1, 6):
        feed.add(entry(f"2027090{day}T100000Z-abc"))
    assert feed.mark_read("cal-dr-weber", "20270905T100000Z-abc")
    feed.add(entry("20270905T100000Z-abc"))  # the same alert delivered again
    first = feed.page("cal-dr-weber", limit=2, cursor=None, unread_only=False)
    assert [e.alert_id[:8] for e in first.entries] == ["20270905", "20270904"]
    assert first.entries[0].read
    assert first.cursor is not None
    second = feed.page("cal-dr-weber", limit=2, cursor=first.cursor, unread_only=False)
    assert [e.alert_id[:8] for e in second.entries] == ["20270903", "20270902"]
    unread = feed.page("cal-dr-weber", limit=10, cursor=None, unread_only=True)
    assert [e.alert_id[:8] for e in unread.entries] == ["20270904", "20270903", "20270902", "20270901"]
    assert not feed.mark_read("cal-dr-weber", "no-such-alert")


def test_feed_cursor_from_another_calendar_is_refused() -> None:
    make_table("feed", "calendar_id", "alert_id")
    feed = AlertsFeedTable(client("dynamodb"), "feed")
    for day in range(1, 4):
        feed.add(entry(f"2027090{day}T100000Z-abc"))
    cursor = feed.page("cal-dr-weber", limit=1, cursor=None, unread_only=False).cursor
    assert cursor
    with pytest.raises(ValueError):
        feed.page("cal-someone-else", limit=1, cursor=cursor, unread_only=False)
    with pytest.raises(ValueError):
        feed.page("cal-dr-weber", limit=1, cursor="not-a-cursor", unread_only=False)


def test_sms_cap_counts_per_calendar_and_hour() -> None:
    make_table("delivery-log", "calendar_id", "entry")
    log = DeliveryLogTable(client("dynamodb"), "delivery-log")
    spent = [log.spend_sms("cal-1", "2027-09-08T13", cap=3, expires_at=1) for _ in range(5)]
    assert spent == [True, True, True, False, False]
    assert log.spend_sms("cal-1", "2027-09-08T14", cap=3, expires_at=1)
    assert log.spend_sms("cal-2", "2027-09-08T13", cap=3, expires_at=1)


def test_sms_cap_counts_segments_not_messages() -> None:
    make_table("delivery-log", "calendar_id", "entry")
    log = DeliveryLogTable(client("dynamodb"), "delivery-log")
    hour = "2027-09-08T13"
    assert log.spend_sms("cal-1", hour, cap=5, expires_at=1, segments=2)
    assert log.spend_sms("cal-1", hour, cap=5, expires_at=1, segments=2)
    assert not log.spend_sms("cal-1", hour, cap=5, expires_at=1, segments=2)  # 6 > 5: nothing counted
    assert log.spend_sms("cal-1", hour, cap=5, expires_at=1, segments=1)
    assert not log.spend_sms("cal-1", hour, cap=5, expires_at=1, segments=1)
    assert not log.spend_sms("cal-2", hour, cap=1, expires_at=1, segments=2)  # never fits


def test_last_failure_per_channel_and_the_sms_receipt_mapping() -> None:
    make_table("delivery-log", "calendar_id", "entry")
    log = DeliveryLogTable(client("dynamodb"), "delivery-log")
    log.record_failure("cal-1", DeliveryFailure("sms", "old", "2027-09-08T10:00:00+00:00"), expires_at=1)
    log.record_failure(
        "cal-1", DeliveryFailure("sms", "sns.Publish: InvalidParameter", "2027-09-08T11:00:00+00:00"), 1
    )
    log.record_failure("cal-1", DeliveryFailure("email", "bounce: Permanent", "2027-09-08T12:00:00+00:00"), 1)
    log.spend_sms("cal-1", "2027-09-08T13", cap=3, expires_at=1)
    failures = log.last_failures("cal-1")
    assert set(failures) == {"sms", "email"}
    assert failures["sms"].reason == "sns.Publish: InvalidParameter"
    assert log.last_failures("cal-2") == {}
    log.remember_sms("sns-msg-1", "cal-1", expires_at=1)
    assert log.calendar_of_sms("sns-msg-1") == "cal-1"
    assert log.calendar_of_sms("sns-msg-unknown") is None


def test_failed_messages_come_back_after_a_growing_delay() -> None:
    url = make_fifo_queue("notifications")
    sqs = client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    in_flight = InFlightMessages(sqs, url, first_delay=10, longest_delay=300)
    assert [in_flight.delay_for(n) for n in (1, 2, 3, 6, 10)] == [10, 20, 40, 300, 300]
    assert in_flight.postpone(message["ReceiptHandle"], receive_count=1) == 10


def test_a_settled_message_leaves_the_queue_at_once() -> None:
    url = make_fifo_queue("notifications")
    sqs = client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    InFlightMessages(sqs, url).settle(message["ReceiptHandle"])
    assert receive_all(url) == []


def test_fixed_settings_are_seen_at_once_while_valid_ones_are_cached() -> None:
    make_table("settings", "calendar_id")
    table = CalendarSettingsTable(client("dynamodb"), "settings")
    client("dynamodb").put_item(
        TableName="settings", Item={"calendar_id": {"S": "cal-x"}, "alert_mobile": {"S": "030 1234567"}}
    )
    cached = CachedCalendarSettings(table, ttl_seconds=60, clock=lambda: 0.0)
    assert isinstance(cached.get_many(["cal-x"])["cal-x"], InvalidSettings)
    table.put(CalendarSettings(calendar_id="cal-x", alert_mobile="+4915123456789"))
    assert cached.get_many(["cal-x"])["cal-x"] == CalendarSettings(
        calendar_id="cal-x", alert_mobile="+4915123456789"
    )
