"""The settings API on moto: tables and the FIFO queue as the template declares them, the real
handler behind the local API Gateway, and tokens from the local issuer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from functions.settings_api import app
from practitioner_alerts.adapters.dynamodb import AlertsFeedTable, CalendarSettingsTable, FeedEntry
from practitioner_alerts.domain.notifications import Notification
from practitioner_alerts_local.api import LocalSettingsApi, LocalTokenIssuer
from practitioner_alerts_local.stack import AwsClients, LocalStack, samconfig_region


@dataclass
class LambdaContextStub:
    function_name: str = "SettingsApiFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:SettingsApiFunction"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class Stack:
    dynamodb: Any
    sqs: Any
    queue_url: str
    settings_table: str
    feed_table: str
    delivery_log_table: str

    @property
    def settings(self) -> CalendarSettingsTable:
        return CalendarSettingsTable(self.dynamodb, self.settings_table)

    @property
    def feed(self) -> AlertsFeedTable:
        return AlertsFeedTable(self.dynamodb, self.feed_table)

    def settings_items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.settings_table)["Items"])

    def feed_items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.feed_table)["Items"])

    def codes(self) -> dict[tuple[str, str], str]:
        """The one-time codes on the queue, by (channel, contact): what the owner of each contact
        would read in the SMS or e-mail. Receives every queued message, like :meth:`queued`."""
        found: dict[tuple[str, str], str] = {}
        for message in self.queued():
            notification = Notification.model_validate_json(message["Body"])
            if (
                notification.alert.kind == "verification"
                and notification.to
                and notification.alert.verification_code
            ):
                found[(notification.channel, notification.to)] = notification.alert.verification_code
        return found

    def queued(self) -> list[dict[str, Any]]:
        """Everything on the queue, received once (FIFO: up to 10 per call)."""
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=600,
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)

    def add_alert(self, calendar_id: str, alert_id: str, *, kind: str = "booked") -> FeedEntry:
        entry = FeedEntry(
            calendar_id=calendar_id,
            alert_id=alert_id,
            kind=kind,
            appointment_id=f"apt-{alert_id}",
            headline=f"Neuer Online-Termin {alert_id}",
            starts_at="2027-09-09T12:00:00+02:00",
            previous_starts_at=None,
            changed_at="2027-09-01T18:30:00+02:00",
            expires_at=1_900_000_000,
        )
        self.feed.add(entry)
        return entry


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        # The tables and the queue exactly as template.yaml declares them, and the function's
        # environment as the template gives it (the local runtime's stack builder does both).
        local = LocalStack.from_files(AwsClients(samconfig_region()))
        local.create()
        for name, value in local.function_environment("SettingsApiFunction").items():
            monkeypatch.setenv(name, value)
        app.settings_api.cache_clear()
        yield Stack(
            dynamodb=local.clients("dynamodb"),
            sqs=local.clients("sqs"),
            queue_url=local.ref("NotificationQueue"),
            settings_table=local.ref("CalendarSettingsTable"),
            feed_table=local.ref("AlertsFeedTable"),
            delivery_log_table=local.ref("DeliveryLogTable"),
        )
        app.settings_api.cache_clear()


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalTokenIssuer:
    return LocalTokenIssuer(state_dir=tmp_path_factory.mktemp("local-state"))


def invoke_handler(event: dict[str, Any]) -> Any:
    return app.handler(event, LambdaContextStub())


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class ApiClient:
    """Talks to the real handler through the local API Gateway, with a token for ``calendars``."""

    issuer: LocalTokenIssuer
    calendars: Sequence[str] = ("cal-a",)
    gateway: LocalSettingsApi = field(init=False)

    def __post_init__(self) -> None:
        self.gateway = LocalSettingsApi(issuer=self.issuer, invoke=invoke_handler)

    def request(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        token: str | None = "issue",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token == "issue":
            token = self.issuer.issue_token(list(self.calendars))
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        raw = b"" if body is None else json.dumps(body).encode()
        response = self.gateway.handle_http(method, target, list(all_headers.items()), raw)
        text = response.body.decode()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.headers},
            json.loads(text) if text else None,
        )

    def get(self, target: str, **kwargs: Any) -> Reply:
        return self.request("GET", target, **kwargs)

    def put(self, target: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("PUT", target, body, **kwargs)

    def patch(self, target: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("PATCH", target, body, **kwargs)

    def post(self, target: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", target, body, **kwargs)

    def save_confirmed(self, stack: Stack, calendar_id: str, body: Any) -> Reply:
        """PUT the settings, then confirm each new contact with the code sent to it, as its
        owner would: the settings as they stand once every contact is verified."""
        saved = self.put(f"/calendars/{calendar_id}/alert-settings", body)
        assert saved.status == 200, saved.body
        reply = saved
        for (channel, _contact), code in stack.codes().items():
            reply = self.post(
                f"/calendars/{calendar_id}/alert-settings/verification/confirm",
                {"channel": channel, "code": code},
            )
            assert reply.status == 200, reply.body
        return reply


@pytest.fixture
def client(stack: Stack, issuer: LocalTokenIssuer) -> ApiClient:
    return ApiClient(issuer)


class LogRecords(logging.Handler):
    """Every log record of the service, with its structured keys, as one JSON line each."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [json.dumps({**vars(r), "msg": r.getMessage()}, default=str) for r in self.records]

    def accesses(self) -> list[dict[str, Any]]:
        return [vars(r) for r in self.records if r.getMessage() == "api access"]


@pytest.fixture
def logs() -> Iterator[LogRecords]:
    handler = LogRecords()
    service = logging.getLogger("practitioner-alerts")
    service.addHandler(handler)
    yield handler
    service.removeHandler(handler)


EVENTS = Path(__file__).resolve().parents[2] / "events"
