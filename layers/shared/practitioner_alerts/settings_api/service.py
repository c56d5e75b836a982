"""What each route does, over small ports so tests can hand in fakes or moto-backed adapters.

No HTTP here beyond status codes carried by :class:`ApiProblem`; the routes module maps requests
and responses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from practitioner_alerts.adapters.dynamodb import DeliveryFailure, FeedEntry, FeedPage
from practitioner_alerts.domain.notifications import AlertContent, Notification, notifications_for
from practitioner_alerts.domain.settings import CalendarSettings
from practitioner_alerts.realtime import channel_for
from practitioner_alerts.settings_api.advice import advice_for
from practitioner_alerts.settings_api.models import (
    AlertRead,
    AlertSettingsInput,
    AlertSettingsView,
    AlertsPage,
    AlertView,
    DeliveryFailureView,
    FieldProblem,
    TestAlertQueued,
)


class SettingsStore(Protocol):
    def get(self, calendar_id: str) -> CalendarSettings | None: ...
    def put(self, settings: CalendarSettings) -> None: ...
    def take_test_send(self, calendar_id: str, window: str, limit: int) -> bool: ...


class AlertsFeed(Protocol):
    def page(self, calendar_id: str, *, limit: int, cursor: str | None, unread_only: bool) -> FeedPage: ...
    def mark_read(self, calendar_id: str, alert_id: str) -> bool: ...


class DeliveryFailures(Protocol):
    def last_failures(self, calendar_id: str) -> dict[str, DeliveryFailure]: ...
    def forget_failure(self, calendar_id: str, channel: str) -> None: ...


class NotificationSink(Protocol):
    def enqueue(self, notifications: Sequence[Notification]) -> None: ...


class ApiProblem(Exception):
    """An answer other than success, with the status code and what to tell the caller."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Sequence[FieldProblem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = headers or {}


def field_problems(error: ValidationError, *, skip: tuple[str, ...] = ()) -> list[FieldProblem]:
    """One message per field, each starting with the field's name."""
    problems: list[FieldProblem] = []
    for detail in error.errors():
        location = [str(part) for part in detail["loc"] if str(part) not in skip]
        name = ".".join(location) or (skip[0] if skip else "request")
        message = detail["msg"].removeprefix("Value error, ")
        problems.append(FieldProblem(field=name, message=f"{name}: {message}"))
    return problems


def _view(
    settings: CalendarSettings, failures: Mapping[str, DeliveryFailure] | None = None
) -> AlertSettingsView:
    active = set(settings.channels)
    return AlertSettingsView(
        last_delivery_failures={
            channel: DeliveryFailureView(reason=failure.reason, failed_at=failure.failed_at)
            for channel, failure in (failures or {}).items()
            if channel in active and channel in ("sms", "email")
        },
        calendar_id=settings.calendar_id,
        alert_email=settings.alert_email,
        alert_mobile=settings.alert_mobile,
        time_zone=settings.time_zone,
        locale=settings.locale,
        practitioner_name=settings.practitioner_name,
        channels=[*settings.channels, "in_app"],
        warnings=advice_for(settings),
    )


def alert_view(entry: FeedEntry) -> AlertView:
    """A feed entry as the feed returns it, and as the real-time channel carries it."""
    return AlertView(**entry.as_alert())


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SettingsService:
    settings: SettingsStore
    feed: AlertsFeed
    queue: NotificationSink
    test_alerts_per_hour: int
    clock: Callable[[], datetime] = field(default=_utc_now)
    new_request_id: Callable[[], str] = field(default=_new_request_id)
    delivery_log: DeliveryFailures | None = None

    def read_settings(self, calendar_id: str) -> AlertSettingsView:
        failures = self.delivery_log.last_failures(calendar_id) if self.delivery_log else None
        return _view(self._settings_of(calendar_id), failures)

    def replace_settings(self, calendar_id: str, update: AlertSettingsInput) -> AlertSettingsView:
        try:
            settings = CalendarSettings(calendar_id=calendar_id, **update.model_dump())
        except ValidationError as error:
            raise ApiProblem(
                422, "invalid_settings", "The settings were not saved.", field_problems(error)
            ) from error
        previous = self.settings.get(calendar_id)
        self.settings.put(settings)
        if self.delivery_log is not None:
            for channel, before, after in (
                ("sms", previous.alert_mobile if previous else None, settings.alert_mobile),
                ("email", previous.alert_email if previous else None, settings.alert_email),
            ):
                if before != after:
                    self.delivery_log.forget_failure(calendar_id, channel)
        return _view(settings)

    def send_test(self, calendar_id: str) -> TestAlertQueued:
        settings = self._settings_of(calendar_id)
        if not settings.channels:
            raise ApiProblem(
                409,
                "no_contact",
                "No e-mail address or mobile number is set for this calendar, so there is nothing "
                "to test. Save one with PUT /calendars/{calendar_id}/alert-settings first.",
            )
        now = self.clock().astimezone(UTC)
        hour = now.strftime("%Y-%m-%dT%H")
        if not self.settings.take_test_send(calendar_id, hour, self.test_alerts_per_hour):
            next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            raise ApiProblem(
                429,
                "too_many_tests",
                f"At most {self.test_alerts_per_hour} test alerts per hour; try again later.",
                headers={"Retry-After": str(max(1, int((next_hour - now).total_seconds())))},
            )
        # A fresh pseudo-appointment per request gives every test its own notification ids
        # (and FIFO deduplication ids) and its own message group.
        content = AlertContent(
            kind="test",
            calendar_id=calendar_id,
            appointment_id=f"test-{self.new_request_id()}",
            starts_at=now,
            changed_at=now,
            practitioner_name=settings.practitioner_name,
            time_zone=settings.time_zone,
            locale=settings.locale,
        )
        notifications = notifications_for(content, settings, in_app=False)
        self.queue.enqueue(notifications)
        return TestAlertQueued(
            calendar_id=calendar_id,
            channels=[n.channel for n in notifications if n.channel != "in_app"],
            notification_ids=[n.notification_id for n in notifications],
        )

    def list_alerts(
        self, calendar_id: str, *, unread_only: bool, limit: int, cursor: str | None
    ) -> AlertsPage:
        try:
            page = self.feed.page(calendar_id, limit=limit, cursor=cursor, unread_only=unread_only)
        except ValueError as error:
            raise ApiProblem(
                400,
                "invalid_cursor",
                "cursor: not a cursor this calendar's alert list returned; start again without it.",
                [FieldProblem(field="cursor", message="cursor: is not valid for this calendar")],
            ) from error
        settings = self._settings_of(calendar_id)
        return AlertsPage(
            alerts=[alert_view(entry) for entry in page.entries],
            cursor=page.cursor,
            locale=settings.locale,
            time_zone=settings.time_zone,
            channel=channel_for(calendar_id),
        )

    def mark_read(self, calendar_id: str, alert_id: str) -> AlertRead:
        if not self.feed.mark_read(calendar_id, alert_id):
            raise ApiProblem(404, "no_such_alert", "This calendar has no alert with that id.")
        return AlertRead(alert_id=alert_id, read=True)

    def _settings_of(self, calendar_id: str) -> CalendarSettings:
        # A calendar nobody has configured yet shows the defaults: no contacts, Berlin, German.
        return self.settings.get(calendar_id) or CalendarSettings(calendar_id=calendar_id)
