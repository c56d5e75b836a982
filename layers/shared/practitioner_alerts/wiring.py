"""Builds the detector and the sender from their configuration: the only place that makes clients.

Clients are made once per execution environment (the handlers cache what these return), with
short time-outs so that a hanging call turns into a retry instead of eating the Lambda's time.

Each builder imports what it builds, and only that: every function imports this module, and
the detector has no use for the sender's rendering (Jinja2, Babel) or idempotency layer, nor the
settings API and the delivery-events function for either. boto3 loads with the first client.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config

    from practitioner_alerts.config import DetectorConfig, SenderConfig
    from practitioner_alerts.detector import AlertDetector
    from practitioner_alerts.sender import AlertSender


# One AWS call takes at most two attempts of a 1 s connect and a 2 s read, with at most 1 s of
# back-off between them (botocore's standard mode waits a random share of 2^0 s before the first
# retry): 7 s. The functions count their time budgets in these (docs/architecture.md, "Time
# budgets"); with the old 3 s / 10 s / 3 attempts one call could take 41 s, longer than the
# sender's whole invocation.
CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 2
ATTEMPTS = 2
LONGEST_CALL_SECONDS = ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + 1


@cache
def client_config() -> Config:
    from botocore.config import Config  # noqa: PLC0415 - loaded with the first client

    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "max_attempts": ATTEMPTS},
    )


def client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - loaded with the first client, not with this module

    return boto3.client(service, config=client_config())  # type: ignore[call-overload]


def build_detector(config: DetectorConfig) -> AlertDetector:
    # Imported here, not at the top: see the module docstring.
    from practitioner_alerts.adapters.dynamodb import (  # noqa: PLC0415
        CachedCalendarSettings,
        CalendarSettingsTable,
    )
    from practitioner_alerts.adapters.sqs import DeadLetterQueue, NotificationQueue  # noqa: PLC0415
    from practitioner_alerts.detector import AlertDetector  # noqa: PLC0415

    sqs = client("sqs")
    return AlertDetector(
        settings=CachedCalendarSettings(
            CalendarSettingsTable(client("dynamodb"), config.settings_table_name),
            ttl_seconds=config.settings_cache_seconds,
        ),
        queue=NotificationQueue(sqs, config.notification_queue_url),
        parking=DeadLetterQueue(sqs, config.stream_dead_letter_queue_url),
        window=config.short_notice_window,
        in_app_feed=config.alerts_feed_enabled,
        longest_call_seconds=LONGEST_CALL_SECONDS,
    )


def build_sender(config: SenderConfig) -> AlertSender:
    # Imported here, not at the top: see the module docstring.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    from practitioner_alerts.adapters.appsync_events import EventPublisher  # noqa: PLC0415
    from practitioner_alerts.adapters.dynamodb import (  # noqa: PLC0415
        AlertsFeedTable,
        CalendarSettingsTable,
        DeliveryLogTable,
    )
    from practitioner_alerts.adapters.ses import EmailGateway  # noqa: PLC0415
    from practitioner_alerts.adapters.sns import SmsGateway  # noqa: PLC0415
    from practitioner_alerts.adapters.sqs import (  # noqa: PLC0415
        DeadLetterQueue,
        InFlightMessages,
        NotificationQueue,
    )
    from practitioner_alerts.sender import AlertSender  # noqa: PLC0415

    dynamodb, sqs = client("dynamodb"), client("sqs")
    return AlertSender(
        sms=SmsGateway(client("sns"), config.sms_sender_id),
        email=EmailGateway(client("sesv2"), config.sender_email, config.ses_configuration_set),
        feed=AlertsFeedTable(dynamodb, config.alerts_feed_table_name),
        parking=DeadLetterQueue(sqs, config.notification_dead_letter_queue_url),
        idempotency_store=DynamoDBPersistenceLayer(
            table_name=config.idempotency_table_name, boto3_client=dynamodb
        ),
        delivery_log=DeliveryLogTable(dynamodb, config.delivery_log_table_name),
        feed_days=config.alert_feed_days,
        sms_per_calendar_per_hour=config.sms_per_calendar_per_hour,
        in_flight=InFlightMessages(sqs, config.notification_queue_url),
        max_receives=config.notification_max_receives,
        longest_call_seconds=LONGEST_CALL_SECONDS,
        push=EventPublisher(config.realtime_publish_url, *_region_and_credentials()),
        sms_countries=config.sms_countries,
        settings=CalendarSettingsTable(dynamodb, config.settings_table_name),
        sms_digest_after=config.sms_digest_after,
        digests=NotificationQueue(sqs, config.notification_queue_url),
    )


def _region_and_credentials() -> tuple[str, Any]:
    """The function's region and role credentials, for requests that no boto3 client makes
    (AppSync Events' publish); the same chain boto3's clients use."""
    import boto3  # noqa: PLC0415 - loaded with the first client, not with this module

    session = boto3.session.Session()
    credentials = session.get_credentials()
    if session.region_name is None or credentials is None:
        raise RuntimeError("no AWS region or credentials in this environment")
    return session.region_name, credentials
