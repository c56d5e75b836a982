"""A hot calendar's burst through the whole local pipeline: the stream, the detector, the FIFO
queue, the sender's hold on the digest until its window's end, SNS, SES and the feed.

Bookings of one calendar within five minutes: the first SMS goes out at once, one digest SMS
tells the rest at the window's end, and e-mail and the feed get every booking. Waits are run
``SCALE`` times faster (the digest's hold of up to five minutes takes a fraction of a second).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from practitioner_alerts_local.runtime import LocalRuntime
from tests.local.conftest import booking_item

SCALE = 0.002
REGION = "eu-central-1"


@contextlib.contextmanager
def visibility_changes() -> Iterator[list[int]]:
    """Every VisibilityTimeout the sender set on a queue message, in order."""
    seen: list[int] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        seen.append(int(params["VisibilityTimeout"]))

    events = boto3._get_default_session().events
    events.register("provide-client-params.sqs.ChangeMessageVisibility", note, unique_id="digest-holds")
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.sqs.ChangeMessageVisibility", unique_id="digest-holds")


def book(runtime: LocalRuntime, count: int, *, changed_at: str) -> None:
    dynamodb = runtime.clients("dynamodb")
    for number in range(count):
        item = booking_item(
            f"apt-burst-{number}",
            starts_at=f"2027-09-09T{9 + number:02d}:00:00+02:00",
            changed_at=changed_at,
            patient_last_name=f"Patient{number}",
        )
        dynamodb.put_item(TableName=runtime.appointments_table(), Item=item)


def sms_texts() -> list[str]:
    return [text for _, text in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()]


def test_a_burst_of_bookings_sends_one_sms_now_and_one_digest_while_email_and_feed_get_each(
    runtime: LocalRuntime,
) -> None:
    with visibility_changes() as holds:
        book(runtime, 4, changed_at="2027-09-08T12:01:00+02:00")
        runtime.drain(time_scale=SCALE)
    first, digest = sms_texts()
    assert first.startswith("Neuer Online-Termin: M. Patient0")
    assert digest == "3 weitere neue Online-Termine: Do., 9. Sept. 10:00, 11:00, 12:00 (Dr. Anna Weber)"
    assert holds and max(holds) <= 300  # the digest waited for its window's end, at most five minutes
    assert len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages) == 4
    assert sorted(entry["appointment_id"] for entry in runtime.feed()) == [f"apt-burst-{n}" for n in range(4)]
    assert runtime.report(with_feed=False).dead_letters == []


def test_bookings_in_two_windows_each_go_out_alone(runtime: LocalRuntime) -> None:
    book(runtime, 1, changed_at="2027-09-08T12:04:59+02:00")
    dynamodb = runtime.clients("dynamodb")
    item = booking_item("apt-later", changed_at="2027-09-08T12:05:00+02:00", patient_last_name="Later")
    dynamodb.put_item(TableName=runtime.appointments_table(), Item=item)
    runtime.drain(time_scale=SCALE)
    assert [text.split(",")[0] for text in sms_texts()] == [
        "Neuer Online-Termin: M. Patient0",
        "Neuer Online-Termin: M. Later",
    ]
