"""Delivery receipts: bounces and complaints from SES, failed SMS from SNS, into the delivery log.

A practitioner whose address bounces or whose number is unreachable gets no alerts and no way
to know. Recording the last failure per channel lets the settings show it, so they can fix it.

SES events arrive through the configuration set's SNS destination and carry the message's tags,
among them the calendar. SNS SMS delivery-status logs name only the message id, which the sender
mapped to its calendar when it sent the SMS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent, SNSEvent

from practitioner_alerts.adapters.dynamodb import DeliveryFailure
from practitioner_alerts.domain.settings import contact_digest

logger = Logger(child=True)
metrics = Metrics()

# How long a delivery failure stays visible in the calendar's settings.
FAILURE_MEMORY = timedelta(days=30)

# Delivery events that mean the practitioner did not get (or refused) the e-mail.
_SES_FAILURES = {"Bounce", "Complaint", "Reject", "RenderingFailure"}


class FailureLog(Protocol):
    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None: ...
    def calendar_of_sms(self, message_id: str) -> str | None: ...


def email_failure(event: dict[str, Any]) -> tuple[str, DeliveryFailure] | None:
    """The calendar and failure an SES event reports, or None for events that are no failure."""
    kind = event.get("eventType") or event.get("notificationType")
    if kind not in _SES_FAILURES:
        return None
    calendar = (event.get("mail", {}).get("tags", {}).get("calendar_id") or [None])[0]
    if not calendar:
        return None
    if kind == "Bounce":
        bounce = event.get("bounce", {})
        reason = f"bounce: {bounce.get('bounceType', 'Unknown')}/{bounce.get('bounceSubType', 'Unknown')}"
        when = bounce.get("timestamp")
    elif kind == "Complaint":
        complaint = event.get("complaint", {})
        reason = f"complaint: {complaint.get('complaintFeedbackType', 'marked as spam')}"
        when = complaint.get("timestamp")
    else:
        reason, when = kind.lower(), None
    destination = (event["mail"].get("destination") or [None])[0]
    return calendar, DeliveryFailure(
        channel="email",
        reason=reason,
        failed_at=when or event["mail"].get("timestamp", ""),
        contact=contact_digest(destination) if isinstance(destination, str) else None,
    )


def sms_failure(log_message: str) -> tuple[str, str, str, str | None] | None:
    """(SNS message id, reason, time, contact_digest of the number) from one SMS delivery-status
    log line, if it is a failure."""
    try:
        status = json.loads(log_message)
    except json.JSONDecodeError:
        return None
    if status.get("status") != "FAILURE":
        return None
    notification, delivery = status.get("notification", {}), status.get("delivery", {})
    message_id = notification.get("messageId")
    if not message_id:
        return None
    reason = f"sms not delivered: {delivery.get('providerResponse', 'unknown')}"
    destination = delivery.get("destination")
    contact = contact_digest(destination) if isinstance(destination, str) else None
    return message_id, reason, notification.get("timestamp", ""), contact


@dataclass(frozen=True)
class DeliveryReceipts:
    log: FailureLog

    def handle(self, event: dict[str, Any]) -> dict[str, int]:
        if "awslogs" in event:
            return {"recorded": self._sms_statuses(CloudWatchLogsEvent(event))}
        return {"recorded": self._ses_events(SNSEvent(event))}

    def _ses_events(self, event: SNSEvent) -> int:
        recorded = 0
        for record in event.records:
            try:
                payload = json.loads(record.sns.message)
            except json.JSONDecodeError:
                logger.warning("SES event is not JSON", extra={"sns_message_id": record.sns.message_id})
                continue
            found = email_failure(payload)
            if found:
                self._record(*found)
                recorded += 1
        return recorded

    def _sms_statuses(self, event: CloudWatchLogsEvent) -> int:
        recorded = 0
        for log_event in event.parse_logs_data().log_events:
            found = sms_failure(log_event.message)
            if not found:
                continue
            message_id, reason, when, contact = found
            calendar = self.log.calendar_of_sms(message_id)
            if calendar is None:
                logger.info("SMS receipt for an unknown message", extra={"sns_message_id": message_id})
                continue
            self._record(
                calendar, DeliveryFailure(channel="sms", reason=reason, failed_at=when, contact=contact)
            )
            recorded += 1
        return recorded

    def _record(self, calendar_id: str, failure: DeliveryFailure) -> None:
        self.log.record_failure(
            calendar_id, failure, int((_moment(failure.failed_at) + FAILURE_MEMORY).timestamp())
        )
        logger.info(
            "delivery failure recorded",
            extra={"calendar_id": calendar_id, "channel": failure.channel, "reason": failure.reason},
        )
        metrics.add_metric(name=f"DeliveryFailed_{failure.channel}", unit=MetricUnit.Count, value=1)


def _moment(timestamp: str) -> datetime:
    """When the receipt says it failed; now, if it does not say so legibly."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
