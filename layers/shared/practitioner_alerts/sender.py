"""The sender: queued notifications out to SNS (SMS), SES (e-mail) and the in-calendar feed.

Each SMS and e-mail goes out once, through Powertools idempotency keyed on its notification id:
a queue message that comes again (a retry, a redelivery after a time-out, the same alert queued
twice) finds the earlier result and sends nothing. The one exception: SNS and SES take no
idempotency key, so a message whose acceptance is lost (a read time-out after SNS or SES took
it), or whose invocation dies between that acceptance and the idempotency record's completion,
can go out a second time. That window lasts one DynamoDB write, and no message starts without
the time for all of its calls, so a time-out cannot open it (docs/architecture.md, "Time
budgets"). The feed needs no such record: its entry is keyed by the notification and written
only if absent.

A burst of SMS alerts to one calendar goes out as one digest SMS per five-minute window after
its first ``sms_digest_after`` (domain.digest): the alerts past them write their line into the
window's record and queue the digest, which the sender holds until the window ends, then sends
like any SMS, under its own idempotency key.

Once the feed entry is written (the record of truth), it is pushed to the calendar's real-time
channel, where an open calendar page shows it as a pop-up. A push that fails is logged and
counted (``PushFailed``) and nothing else happens: the feed write stands, the message is not
retried (which could send its SMS or e-mail again), and the page finds the alert when it next
reads the feed (on load and on every reconnect). A message that comes again pushes its entry
again, whether or not the entry was already there: the page drops alert ids it has shown, and a
second push makes up for a first one that was lost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from practitioner_alerts.adapters.dynamodb import DeliveryFailure, FeedEntry
from practitioner_alerts.delivery_events import FAILURE_MEMORY
from practitioner_alerts.detector import ParkingLot
from practitioner_alerts.domain.appointments import describe_validation_error
from practitioner_alerts.domain.digest import (
    DIGEST_MEMORY,
    DIGEST_WINDOW,
    DigestLine,
    digest_key,
    digest_notification,
    may_join_a_digest,
    window_end,
    window_of,
)
from practitioner_alerts.domain.notifications import AlertContent, Notification
from practitioner_alerts.domain.settings import (
    DEFAULT_SMS_COUNTRIES,
    CalendarSettings,
    contact_digest,
    sms_country,
)
from practitioner_alerts.errors import (
    AlertError,
    MalformedRecord,
    OperatorError,
    PermanentError,
    TransientError,
)
from practitioner_alerts.realtime import channel_for
from practitioner_alerts.rendering import (
    Email,
    count_segments,
    render_digest,
    render_email,
    render_headline,
    render_sms,
)

logger = Logger(child=True)
metrics = Metrics()

# Longer than anything can keep a message coming back: stream records live 24 h, queue
# messages four days, and a redrive from the dead-letter queue may follow.
IDEMPOTENCY_TTL = timedelta(days=7)
# Powertools would key the records by the function's deployed name and the Python name of the
# decorated function: a rename of either would silently void seven days of records, and a
# redelivery or redrive after it would send again. This never changes.
IDEMPOTENCY_KEY_PREFIX = "practitioner-alerts.notification"


class SmsChannel(Protocol):
    def send(self, to: str, text: str) -> str: ...


class EmailChannel(Protocol):
    def send(self, to: str, email: Email, tags: Mapping[str, str] | None = None) -> str: ...


class AlertsFeed(Protocol):
    def add(self, entry: FeedEntry) -> None: ...


class DeliveryLog(Protocol):
    def spend_sms(
        self, calendar_id: str, hour: str, cap: int, expires_at: int, segments: int = ...
    ) -> bool: ...
    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None: ...
    def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None: ...
    def count_sms_alert(self, calendar_id: str, window_key: str, expires_at: int) -> int | None: ...
    def join_digest(self, calendar_id: str, window_key: str, line: DigestLine, expires_at: int) -> bool: ...
    def close_digest(self, calendar_id: str, window_key: str) -> list[DigestLine] | None: ...


class CurrentSettings(Protocol):
    def get(self, calendar_id: str) -> CalendarSettings | None: ...


class AlertPush(Protocol):
    def publish(self, channel: str, events: Sequence[str]) -> None: ...


class InFlight(Protocol):
    def postpone(self, receipt_handle: str, receive_count: int) -> int: ...
    def hold(self, receipt_handle: str, seconds: int) -> None: ...
    def settle(self, receipt_handle: str) -> None: ...


class DigestQueue(Protocol):
    def enqueue(self, notifications: Sequence[Notification]) -> None: ...


class SmsCapReached(PermanentError):
    """The calendar sent its hourly share of SMS and has no e-mail to fall back to."""


# The most AWS calls one message makes: for an SMS, the settings check (is the contact still the
# calendar's?), the digest window's count (or, for a digest, its closing), the hourly cap, the
# idempotency record, SNS, the record's completion and the receipt mapping; an SMS that joins a
# digest makes six (count, line, the digest's queue message instead of cap, SNS and receipt), an
# e-mail four, a feed entry two.
AWS_CALLS_PER_MESSAGE = 7


# What an SMS alert's idempotency record holds when its window's digest tells it.
TOLD_BY_DIGEST = "in-digest"


class HandedBack(TransientError):
    """The message goes back to the queue untouched; not an attempt that failed, so it is never
    parked for it."""


class OutOfTime(HandedBack):
    """Too little of the invocation is left to be sure one more message finishes: it goes back
    to the queue untouched, instead of being cut off between SNS accepting it and its
    idempotency record's completion, which would send it again."""


class EndingEarly(HandedBack):
    """An earlier message of this batch went out, but neither its idempotency record's
    completion nor its early delete went through: until the invocation returns and Lambda
    deletes it, a crash would send it again. So the rest of the batch goes back untouched, with
    no back-off calls either, and the invocation returns at once."""


class HeldForDigest(HandedBack):
    """A digest came before its window's end: it goes back out of sight until then."""


class UnrenderableAlert(PermanentError):
    """Rendering broke on this alert: it would break the same way on every retry. Not the
    practitioner's failure, so it is parked without showing up in their settings."""


def _rendered[T](render: Callable[[AlertContent], T], alert: AlertContent) -> T:
    try:
        return render(alert)
    except Exception as error:
        # The type only: a message may quote the patient's name.
        raise UnrenderableAlert(f"unrenderable_alert: {type(error).__name__}") from error


def feed_alert_id(notification: Notification) -> str:
    """Sorts by time of change, so the newest alert comes first in the feed, and is unique."""
    changed = notification.alert.changed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{changed}-{notification.notification_id[:12]}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AlertSender:
    sms: SmsChannel
    email: EmailChannel
    feed: AlertsFeed
    parking: ParkingLot
    idempotency_store: BasePersistenceLayer
    delivery_log: DeliveryLog
    feed_days: int
    sms_per_calendar_per_hour: int
    in_flight: InFlight | None = None
    # The queue's maxReceiveCount: the last attempt parks a message with its reason.
    max_receives: int | None = None
    # How long one AWS call can take at most (wiring.LONGEST_CALL_SECONDS); None: no budget.
    longest_call_seconds: float | None = None
    # The calendar page's pop-up; without it, the feed alone carries in-calendar alerts.
    push: AlertPush | None = None
    # For the SMS cap's hour, the failure timestamps and how long a digest waits for its
    # window's end; which alerts go out, and in which digest, never depends on it.
    clock: Callable[[], datetime] = field(default=_utc_now)
    # Countries whose numbers may get an SMS (SmsAllowedCountries).
    sms_countries: frozenset[str] = DEFAULT_SMS_COUNTRIES
    # The calendar's settings as they are now, read before each SMS and e-mail: a contact
    # deleted or changed after the alert was queued (a queue held up by an outage, say) gets
    # nothing more. Without it, what the detector queued is sent.
    settings: CurrentSettings | None = None
    # SmsDigestAfter: how many SMS alerts of a calendar go out alone in a five-minute window;
    # the rest of the window are told together by one digest SMS at its end (domain.digest).
    # 0, or no queue for the digests or no in-flight control to hold them: no digest.
    sms_digest_after: int = 0
    digests: DigestQueue | None = None

    def handle(self, event: dict[str, Any], context: LambdaContext | None) -> PartialItemFailureResponse:
        config = _idempotency_config(context)
        delivered: set[str] = set()
        # Sent, but neither recorded nor deleted (see EndingEarly).
        unsettled: list[str] = []
        # Digests that came before their window's end, and for how many seconds more they wait.
        held: dict[str, int] = {}

        def deliver(notification: Notification) -> dict[str, str]:
            result = self._deliver(notification)
            delivered.add(notification.notification_id)
            return result

        deliver_once = idempotent_function(
            data_keyword_argument="notification",
            persistence_store=self.idempotency_store,
            config=config,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )(deliver)

        def attempt(notification: Notification, record: SQSRecord) -> None:
            try:
                if notification.channel == "in_app":
                    # The feed entry's key comes from the notification and its write is
                    # conditional, so a repeat writes nothing: the idempotency record's two
                    # writes would only double what an in-calendar alert costs.
                    deliver(notification)
                else:
                    deliver_once(notification=notification)
            except IdempotencyAlreadyInProgressError as error:
                raise TransientError("the same notification is being delivered right now") from error
            except IdempotencyPersistenceLayerError as error:
                if notification.notification_id in delivered:
                    # SNS/SES already accepted it; retrying would send it twice. The record stays
                    # "in progress" and expires, so the message leaves the queue now rather than at
                    # the end of the batch, which a crash would prevent.
                    logger.warning(
                        "delivered, but the idempotency record could not be completed",
                        extra={"notification_id": notification.notification_id},
                    )
                    if not self._settle(record):
                        unsettled.append(notification.notification_id)
                    return
                raise TransientError("idempotency store unavailable; nothing was sent") from error

        def record_handler(record: SQSRecord) -> None:
            if unsettled:
                raise EndingEarly("an earlier message is sent but not settled; the batch ends here")
            if self._out_of_time(context):
                raise OutOfTime("too little time left in this invocation; the message goes back untouched")
            notification = self._read(record)
            if notification is None:
                return
            self._hold_until_its_window_ends(notification, record, held)
            try:
                attempt(notification, record)
            except TransientError as error:
                if isinstance(error, OperatorError):
                    # Not the practitioner's failure: nothing goes to their delivery log.
                    logger.error("the deployment refused a delivery", extra={"reason": error.reason})
                    metrics.add_metric(name="ConfigurationErrors", unit=MetricUnit.Count, value=1)
                receives = int(record.attributes.approximate_receive_count)
                if self.max_receives is None or receives < self.max_receives or isinstance(error, HandedBack):
                    raise
                # SQS would move it to the dead-letter queue at its next receive without a word
                # on why; parked now, it carries the reason an operator needs before a redrive.
                reason = f"{error.reason} (gave up after {receives} attempts)"
                self._park(record, reason, notification.channel)
            except PermanentError as error:
                self._park(record, error.reason, notification.channel)

        # Failing a message skips only the rest of its group (its appointment's channel), keeping
        # each appointment's alerts in order on each channel while everything else goes on.
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # A batch whose every message failed is still a partial response, not a function error:
        # otherwise Powertools raises before the back-off is applied, and a lone throttled SMS
        # (common at low traffic) would wait the full visibility timeout (make chaos found it).
        processor.raise_on_entire_batch_failure = False
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        if not unsettled:
            self._back_off(event, response, held)
        return response

    def _hold_until_its_window_ends(
        self, notification: Notification, record: SQSRecord, held: dict[str, int]
    ) -> None:
        """A digest that comes before its window's end goes back out of sight until then, once:
        when it comes again it goes out, whatever this function's clock says (a clock skewed
        against the booking platform's, or a local runtime that runs time faster)."""
        if notification.digest_window is None or self.in_flight is None:
            return
        if int(record.attributes.approximate_receive_count) > 1:
            return
        left = (window_end(notification) - self.clock()).total_seconds()
        if left <= 0:
            return
        # Never longer than a window, whatever clock wrote the change.
        held[record.message_id] = math.ceil(min(left, DIGEST_WINDOW.total_seconds()))
        raise HeldForDigest("the digest waits for its window's end")

    def _out_of_time(self, context: LambdaContext | None) -> bool:
        if context is None or self.longest_call_seconds is None:
            return False
        # One message's calls, plus one for the back-off of whatever is handed back.
        needed = (AWS_CALLS_PER_MESSAGE + 1) * self.longest_call_seconds
        return context.get_remaining_time_in_millis() < needed * 1000

    def _read(self, record: SQSRecord) -> Notification | None:
        try:
            return Notification.model_validate_json(record.body)
        except ValidationError as error:
            self._park(record, MalformedRecord(describe_validation_error("body", error)).reason, None)
            return None

    def _deliver(self, notification: Notification) -> dict[str, str]:
        alert = notification.alert
        if not self._still_wanted(notification):
            return {"message_id": "not-sent:contact-changed"}
        try:
            if notification.channel == "sms":
                message_id = self._send_sms(notification)
            elif notification.channel == "email":
                tags = {"calendar_id": alert.calendar_id, "notification_id": notification.notification_id}
                email = _rendered(render_email, alert)
                message_id = self.email.send(_address(notification), email, tags)
            else:
                message_id = feed_alert_id(notification)
                entry = self._feed_entry(notification, message_id)
                self.feed.add(entry)
                self._push(entry, notification.notification_id)
        except (SmsCapReached, UnrenderableAlert, MalformedRecord):
            # None of these is the practitioner's to fix: a message without its address is the
            # writer's fault, so it is parked without showing up in their settings.
            raise
        except PermanentError as error:
            # The practitioner sees this in their settings and can fix the address.
            self._remember_failure(alert.calendar_id, notification.channel, error.reason, notification.to)
            raise
        if message_id == TOLD_BY_DIGEST:
            # Not delivered yet: its digest is, at the window's end (counted as SmsInDigest).
            return {"message_id": message_id}
        logger.info(
            "notification delivered",
            extra={
                "notification_id": notification.notification_id,
                "appointment_id": alert.appointment_id,
                "calendar_id": alert.calendar_id,
                "channel": notification.channel,
                "kind": alert.kind,
            },
        )
        metrics.add_metric(name=f"Delivered_{notification.channel}", unit=MetricUnit.Count, value=1)
        return {"message_id": message_id}

    def _still_wanted(self, notification: Notification) -> bool:
        """False when the calendar no longer has this contact, proven (an alert) or pending (its
        code): then nothing goes to it, and the message leaves the queue."""
        if self.settings is None or notification.channel == "in_app" or notification.to is None:
            return True
        alert = notification.alert
        current = self.settings.get(alert.calendar_id)
        channel = notification.channel
        if current is None:
            wanted = False
        elif alert.kind == "verification":
            wanted = current.contact(channel) == notification.to and not current.is_verified(channel)
        else:
            wanted = (
                current.sms_recipient if channel == "sms" else current.email_recipient
            ) == notification.to
        if not wanted:
            logger.info(
                "not sent: the calendar's contact changed since the alert was queued",
                extra={
                    "notification_id": notification.notification_id,
                    "calendar_id": alert.calendar_id,
                    "channel": channel,
                    "kind": alert.kind,
                },
            )
            metrics.add_metric(name="NotSentContactChanged", unit=MetricUnit.Count, value=1)
        return wanted

    def _send_sms(self, notification: Notification) -> str:
        alert = notification.alert
        to = _address(notification)
        # Checked again here, not only when the number was entered: the list may have narrowed
        # since, and a number written around the API never went through that check.
        country = sms_country(to)
        if country is None or country not in self.sms_countries:
            raise PermanentError(
                f"sms_country_not_allowed: a number of {country or 'no country'}, which "
                "SmsAllowedCountries does not list"
            )
        if notification.digest_window is not None:
            lines = self._close_digest(notification)
            text = _rendered(lambda content: render_digest(content, lines), alert)
        elif self._joined_digest(notification):
            return TOLD_BY_DIGEST
        else:
            text = _rendered(render_sms, alert)
        segments = count_segments(text).segments
        now = self.clock()
        hour_ends = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if not self.delivery_log.spend_sms(
            alert.calendar_id,
            now.strftime("%Y-%m-%dT%H"),
            self.sms_per_calendar_per_hour,
            int((hour_ends + timedelta(hours=1)).timestamp()),
            segments=segments,
        ):
            metrics.add_metric(name="SmsOverCap", unit=MetricUnit.Count, value=1)
            if notification.covered_by_email:
                logger.warning(
                    "sms over the hourly cap; the e-mail carries this alert",
                    extra={"notification_id": notification.notification_id, "calendar_id": alert.calendar_id},
                )
                return "over-cap:covered-by-email"
            raise SmsCapReached(
                f"sms_cap_reached: {self.sms_per_calendar_per_hour} SMS segments this hour for this "
                "calendar and no e-mail to fall back to; redrive after the hour"
            )
        message_id = self.sms.send(to, text)
        expires = now + timedelta(days=3)  # SMS delivery receipts arrive within hours
        try:
            self.delivery_log.remember_sms(message_id, alert.calendar_id, int(expires.timestamp()))
        except AlertError as error:
            # The SMS is out: failing now would send it again. Only its receipt goes unmatched.
            logger.warning(
                "sms receipt mapping not stored",
                extra={"calendar_id": alert.calendar_id, "reason": error.reason},
            )
        return message_id

    def _joined_digest(self, notification: Notification) -> bool:
        """True when the alert is told by its window's digest rather than alone: the window
        already had ``sms_digest_after`` SMS alerts of the calendar and the digest has not gone
        out. Its line is then in the digest, and the digest's queue message on its way."""
        if self.sms_digest_after <= 0 or self.digests is None or self.in_flight is None:
            return False
        if not may_join_a_digest(notification):
            return False
        alert = notification.alert
        window = window_of(alert.changed_at)
        key = digest_key(notification, window)
        expires_at = int((self.clock() + DIGEST_MEMORY).timestamp())
        count = self.delivery_log.count_sms_alert(alert.calendar_id, key, expires_at)
        if count is not None and count <= self.sms_digest_after:
            return False
        # Over the count, or the digest gone out: an earlier attempt of this message may have
        # put its line in already, and then the digest tells it.
        if not self.delivery_log.join_digest(alert.calendar_id, key, DigestLine.of(notification), expires_at):
            return False
        if count is not None:
            # Every line that joins queues the digest, all under one deduplication and idempotency
            # id: one whose request failed is retried with its line in place.
            self.digests.enqueue([digest_notification(notification, window, key)])
        logger.info(
            "sms alert told by the window's digest",
            extra={
                "notification_id": notification.notification_id,
                "calendar_id": alert.calendar_id,
                "window": window.isoformat(),
            },
        )
        metrics.add_metric(name="SmsInDigest", unit=MetricUnit.Count, value=1)
        return True

    def _close_digest(self, notification: Notification) -> list[DigestLine]:
        assert notification.digest_window is not None
        lines = self.delivery_log.close_digest(
            notification.alert.calendar_id, digest_key(notification, notification.digest_window)
        )
        if lines is None:
            # Its record outlives the dead-letter queue's retention, so only a message replayed
            # by hand long after can meet this.
            raise PermanentError("digest_expired: the digest's lines are no longer kept")
        return lines

    def _push(self, entry: FeedEntry, notification_id: str) -> None:
        if self.push is None:
            return
        event = json.dumps(entry.as_alert(), ensure_ascii=False, separators=(",", ":"))
        try:
            self.push.publish(channel_for(entry.calendar_id), [event])
        except Exception as error:  # noqa: BLE001 - nothing a push raises may fail or repeat the delivery
            reason = error.reason if isinstance(error, AlertError) else type(error).__name__
            logger.warning(
                "push failed; the calendar page catches up from the feed",
                extra={
                    "notification_id": notification_id,
                    "calendar_id": entry.calendar_id,
                    "alert_id": entry.alert_id,
                    "reason": reason,
                },
            )
            metrics.add_metric(name="PushFailed", unit=MetricUnit.Count, value=1)
            return
        metrics.add_metric(name="Pushed", unit=MetricUnit.Count, value=1)

    def _remember_failure(self, calendar_id: str, channel: str, reason: str, to: str | None) -> None:
        now = self.clock()
        failure = DeliveryFailure(
            channel=channel,
            reason=reason,
            failed_at=now.isoformat(),
            contact=contact_digest(to) if to else None,
        )
        try:
            self.delivery_log.record_failure(calendar_id, failure, int((now + FAILURE_MEMORY).timestamp()))
        except AlertError as error:
            # The message is parked with its reason either way; the log is a convenience.
            logger.warning(
                "delivery failure not logged", extra={"calendar_id": calendar_id, "reason": error.reason}
            )

    def _feed_entry(self, notification: Notification, alert_id: str) -> FeedEntry:
        alert = notification.alert
        expires = alert.changed_at + timedelta(days=self.feed_days)
        return FeedEntry(
            calendar_id=alert.calendar_id,
            alert_id=alert_id,
            kind=alert.kind,
            appointment_id=alert.appointment_id,
            headline=_rendered(render_headline, alert),
            starts_at=alert.starts_at.isoformat(),
            previous_starts_at=alert.previous_starts_at.isoformat() if alert.previous_starts_at else None,
            changed_at=alert.changed_at.isoformat(),
            expires_at=int(expires.timestamp()),
        )

    def _park(self, record: SQSRecord, reason: str, channel: str | None) -> None:
        self.parking.park(
            source="sender",
            reason=reason,
            payload=record.raw_event,
            group=record.attributes.message_group_id or "parked",
        )
        logger.warning(
            "notification parked",
            extra={"message_id": record.message_id, "channel": channel, "reason": reason},
        )
        metrics.add_metric(name="NotificationsParked", unit=MetricUnit.Count, value=1)

    def _settle(self, record: SQSRecord) -> bool:
        """Deletes the message now; False when that failed (it stays on the queue until Lambda
        deletes it at the end of the batch)."""
        if self.in_flight is None:
            return True
        try:
            self.in_flight.settle(record.receipt_handle)
        except AlertError as error:
            logger.warning(
                "message not deleted early", extra={"message_id": record.message_id, "reason": error.reason}
            )
            return False
        return True

    def _back_off(
        self, event: dict[str, Any], response: PartialItemFailureResponse, held: Mapping[str, int]
    ) -> None:
        """Bring failed messages back sooner at first and later each time, instead of after the
        full visibility timeout every time; their group stays blocked meanwhile, keeping order.
        A digest held for its window's end comes back at that end."""
        if self.in_flight is None or not response["batchItemFailures"]:
            return
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for raw in event.get("Records", []):
            record = SQSRecord(raw)
            if record.message_id in failed:
                try:
                    if record.message_id in held:
                        self.in_flight.hold(record.receipt_handle, held[record.message_id])
                    else:
                        self.in_flight.postpone(
                            record.receipt_handle, int(record.attributes.approximate_receive_count)
                        )
                except AlertError as error:
                    # The visibility timeout brings it back anyway, only later.
                    logger.warning(
                        "backoff not applied", extra={"message_id": record.message_id, "reason": error.reason}
                    )


def _idempotency_config(context: LambdaContext | None) -> IdempotencyConfig:
    config = IdempotencyConfig(
        event_key_jmespath="notification_id",
        expires_after_seconds=int(IDEMPOTENCY_TTL.total_seconds()),
    )
    if context is not None:
        config.register_lambda_context(context)
    return config


def _address(notification: Notification) -> str:
    if not notification.to:
        raise MalformedRecord(f"to: missing for channel {notification.channel}")
    return notification.to
