"""What the pipeline did, read from where it really shows: logs, emulated SNS/SES, dead letters.

* Decisions come from the detector's structured ``decision`` log record, captured with a
  ``logging.Handler`` on the stdlib logger Powertools uses (named after the service).
* ``sent`` is what moto's SNS and SES *accepted* (their backends), not what the code meant to
  send. Each accepted message is tied to its notification at the moment the sender logs
  "notification delivered" for it: the sender logs that line right after SNS/SES returned, in the
  same thread, so everything accepted since the previous delivery belongs to that notification.
  The tie is checked (same channel, same recipient) before an appointment id is attached.
* Dead letters are read from moto's queue state without receiving them, so they stay in their
  dead-letter queues for inspection (and a FIFO dead-letter queue's groups are never blocked).
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any

from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from practitioner_alerts_local.stack import LOCAL_ACCOUNT_ID

DECISION_FIELDS = ("event_id", "appointment_id", "change", "alert", "reason")


@dataclass(frozen=True)
class SentMessage:
    """One SMS or e-mail that emulated SNS/SES accepted."""

    channel: str
    to: str
    appointment_id: str | None
    text: str
    subject: str | None = None
    html: str | None = None
    message_id: str = ""
    notification_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "channel": self.channel,
            "to": self.to,
            "appointment_id": self.appointment_id,
            "text": self.text,
        }
        if self.channel == "email":
            entry["subject"] = self.subject
            entry["html"] = self.html
        return entry


@dataclass(frozen=True)
class ExpectedNotification:
    """A notification handed to the sender, as read from the queue message body."""

    notification_id: str
    channel: str
    to: str | None
    appointment_id: str


class _AcceptedMessages:
    """New SMS and e-mails in moto's SNS/SES backends since the last look."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._sms_seen = len(self._sms())
        self._email_seen = len(self._email())

    def _sms(self) -> list[tuple[str, tuple[str, str]]]:
        return list(sns_backends[LOCAL_ACCOUNT_ID][self._region].sms_messages.items())

    def _email(self) -> list[Any]:
        return list(ses_backends[LOCAL_ACCOUNT_ID][self._region].sent_messages)

    def take_new(self) -> list[SentMessage]:
        sms, mails = self._sms(), self._email()
        new = [
            SentMessage(channel="sms", to=phone, appointment_id=None, text=text, message_id=message_id)
            for message_id, (phone, text) in sms[self._sms_seen :]
        ]
        new.extend(_parse_email(message) for message in mails[self._email_seen :])
        self._sms_seen, self._email_seen = len(sms), len(mails)
        return new


def _parse_email(message: Any) -> SentMessage:
    raw = getattr(message, "raw_data", None)
    if raw is None:  # a Simple (non-raw) e-mail: moto keeps subject and body apart
        return SentMessage(
            channel="email",
            to=", ".join(_destinations(message)),
            appointment_id=None,
            text=str(getattr(message, "body", "")),
            subject=str(getattr(message, "subject", "")),
            message_id=str(message.id),
        )
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return SentMessage(
        channel="email",
        to=str(parsed["To"] or ", ".join(_destinations(message))),
        appointment_id=None,
        text=str(text_part.get_content()) if isinstance(text_part, EmailMessage) else "",
        subject=str(parsed["Subject"] or ""),
        html=str(html_part.get_content()) if isinstance(html_part, EmailMessage) else None,
        message_id=str(message.id),
    )


def _destinations(message: Any) -> list[str]:
    destinations = getattr(message, "destinations", [])
    if isinstance(destinations, dict):
        return [address for addresses in destinations.values() for address in addresses]
    return [str(address) for address in destinations]


class PipelineObserver(logging.Handler):
    """Collects decisions, accepted messages and log-derived facts while the pipeline runs."""

    def __init__(self, region: str) -> None:
        super().__init__(level=logging.INFO)
        self.decisions: list[dict[str, Any]] = []
        self.sent: list[SentMessage] = []
        self.feed_entries: list[dict[str, Any]] = []
        self._expected: dict[str, ExpectedNotification] = {}
        self._accepted = _AcceptedMessages(region)
        self._lock = threading.RLock()

    # -- logging.Handler --------------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message == "decisions":
            with self._lock:
                for decision in getattr(record, "decisions", None) or []:
                    self.decisions.append({name: decision.get(name) for name in DECISION_FIELDS})
        elif message == "notification delivered":
            self._attribute(getattr(record, "notification_id", None), getattr(record, "channel", None))

    # -- Attribution ------------------------------------------------------------------------------
    def expect(self, notifications: Iterable[ExpectedNotification]) -> None:
        with self._lock:
            for notification in notifications:
                self._expected[notification.notification_id] = notification

    def _attribute(self, notification_id: str | None, channel: str | None) -> None:
        with self._lock:
            new = self._accepted.take_new()
            expected = self._expected.get(notification_id or "")
            for message in new:
                belongs = (
                    expected is not None
                    and message.channel == channel == expected.channel
                    and _same_recipient(message.to, expected.to)
                )
                if belongs and expected is not None:
                    self.sent.append(
                        replace(
                            message, appointment_id=expected.appointment_id, notification_id=notification_id
                        )
                    )
                else:
                    self.sent.append(message)

    def collect_unattributed(self) -> None:
        """Anything accepted outside a delivery (e.g. a direct publish) still shows, unattributed."""
        with self._lock:
            self.sent.extend(self._accepted.take_new())

    def snapshot(self) -> tuple[list[dict[str, Any]], list[SentMessage]]:
        with self._lock:
            return list(self.decisions), list(self.sent)


def _same_recipient(accepted: str, expected: str | None) -> bool:
    if expected is None:
        return False
    return expected.strip().lower() in accepted.strip().lower()


def expected_notification(body: str) -> ExpectedNotification | None:
    """The notification a queue message carries, if the body is one (malformed ones are parked)."""
    try:
        data = json.loads(body)
        return ExpectedNotification(
            notification_id=str(data["notification_id"]),
            channel=str(data["channel"]),
            to=data.get("to"),
            appointment_id=str(data["alert"]["appointment_id"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------------------------------------
# Dead letters
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeadLetterQueueRef:
    url: str
    region: str

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class DeadLetters:
    queues: list[DeadLetterQueueRef] = field(default_factory=list)

    def read(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for queue in self.queues:
            backend = sqs_backends[LOCAL_ACCOUNT_ID][queue.region]
            moto_queue = backend.queues.get(queue.name)
            if moto_queue is None:
                continue
            for message in list(moto_queue._messages):  # a peek: they stay queued
                entries.append(
                    describe_dead_letter(queue.name, message.body, message.approximate_receive_count)
                )
        return entries


def describe_dead_letter(queue_name: str, body: str, receive_count: int) -> dict[str, Any]:
    """One dead letter as ``{"source", "reason", ...}`` whichever way it got there."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, Mapping) and "DDBStreamBatchInfo" in data:
        # Lambda's on-failure invocation record: the batch itself is not in it, only where it was.
        return {
            "source": "lambda-on-failure",
            "reason": data.get("requestContext", {}).get("condition"),
            "queue": queue_name,
            "function_error": data.get("responseContext", {}).get("functionError"),
            "approximate_invoke_count": data.get("requestContext", {}).get("approximateInvokeCount"),
            "batch_info": data["DDBStreamBatchInfo"],
        }
    if isinstance(data, Mapping) and {"source", "reason"} <= set(data):
        # Parked by the detector or the sender itself, with its reason.
        return {
            "source": data["source"],
            "reason": data["reason"],
            "queue": queue_name,
            "payload": data.get("payload"),
        }
    # Moved by SQS after maxReceiveCount failed receives: the original message, unchanged.
    return {
        "source": "sqs-redrive",
        "reason": f"maxReceiveCount exceeded (received {receive_count} times)",
        "queue": queue_name,
        "payload": data if data is not None else body,
    }
