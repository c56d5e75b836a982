"""What each route does, over small ports so tests can hand in fakes or moto-backed adapters.

No HTTP here beyond status codes carried by :class:`ApiProblem`; the routes module maps requests
and responses.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from practitioner_alerts.adapters.dynamodb import (
    CODE_SENDS_KEY_SUFFIX,
    DeliveryFailure,
    FeedEntry,
    FeedPage,
    StaleSettings,
    StoredSettings,
    revision_of,
    subject_counter,
)
from practitioner_alerts.domain.notifications import (
    AlertContent,
    Notification,
    notification_id,
    notifications_for,
)
from practitioner_alerts.domain.settings import (
    CONTACT_CHANNELS,
    DEFAULT_SMS_COUNTRIES,
    CalendarSettings,
    ContactChannel,
    contact_digest,
    display_email,
    entering,
)
from practitioner_alerts.domain.verification import (
    CODE_DIGITS,
    RESEND_SPACING,
    PendingCode,
    issue,
    matches,
    typed_code,
)
from practitioner_alerts.errors import AlertError
from practitioner_alerts.realtime import channel_for
from practitioner_alerts.settings_api.advice import advice_for, explanations_for
from practitioner_alerts.settings_api.models import (
    AlertRead,
    AlertSettingsInput,
    AlertSettingsView,
    AlertsPage,
    AlertView,
    CodeSent,
    DeliveryFailureView,
    FieldProblem,
    TestAlertQueued,
)


class SettingsStore(Protocol):
    def read(self, calendar_id: str) -> StoredSettings: ...
    def replace(self, settings: CalendarSettings, *, read: StoredSettings) -> None: ...
    def take_test_send(self, calendar_id: str, window: str, limit: int) -> bool: ...
    def take_allowance(self, counter: str, window: str, limit: int) -> bool: ...
    def put_code(
        self, calendar_id: str, channel: ContactChannel, code: PendingCode, *, spacing: int
    ) -> bool: ...
    def get_code(self, calendar_id: str, channel: ContactChannel) -> PendingCode | None: ...
    def take_attempt(self, calendar_id: str, channel: ContactChannel, code: PendingCode) -> bool: ...
    def delete_code(self, calendar_id: str, channel: ContactChannel) -> None: ...


class AlertsFeed(Protocol):
    def page(self, calendar_id: str, *, limit: int, cursor: str | None, unread_only: bool) -> FeedPage: ...
    def mark_read(self, calendar_id: str, alert_id: str) -> bool: ...


class DeliveryFailures(Protocol):
    def last_failures(self, calendar_id: str) -> dict[str, DeliveryFailure]: ...


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
        problems.append(FieldProblem.from_validation(name, detail))
    return problems


def _view(
    settings: CalendarSettings,
    failures: Mapping[str, DeliveryFailure] | None = None,
    not_sent: tuple[ContactChannel, ...] = (),
) -> AlertSettingsView:
    entered = set(settings.entered_channels)
    return AlertSettingsView(
        # A failure shows only while its contact is the one entered: a fixed address starts
        # clean without anyone deleting the old entry (no read-then-write on a save).
        last_delivery_failures={
            channel: DeliveryFailureView(reason=failure.reason, failed_at=failure.failed_at)
            for channel, failure in (failures or {}).items()
            if channel in entered and _failure_is_for(failure, settings.contact(channel))
        },
        calendar_id=settings.calendar_id,
        alert_email=display_email(settings.alert_email) if settings.alert_email else None,
        alert_email_ascii=settings.alert_email,
        alert_mobile=settings.alert_mobile,
        time_zone=settings.time_zone,
        locale=settings.locale,
        practitioner_name=settings.practitioner_name,
        channels=[*settings.channels, "in_app"],
        visit_motive_in_email=settings.visit_motive_in_email,
        explanations=explanations_for(settings.locale),
        verification={
            channel: "verified" if settings.is_verified(channel) else "pending"
            for channel in settings.entered_channels
        },
        warnings=advice_for(settings, not_sent),
    )


@dataclass(frozen=True)
class SettingsReply:
    """The settings as the API shows them, and their revision (the ETag)."""

    view: AlertSettingsView
    revision: str


def etag_matches(if_match: str, revision: str) -> bool:
    """RFC 9110 If-Match: ``*`` or a list of strong entity tags; a weak one never matches."""
    if if_match.strip() == "*":
        return True
    return any(tag.strip() == f'"{revision}"' for tag in if_match.split(","))


STALE_MESSAGE = (
    "The settings were changed after you loaded them, so nothing was saved. Load them again "
    "(GET) and repeat your change."
)
# Concurrent writers without If-Match: each write is re-read and retried this often before 503.
_WRITE_ATTEMPTS = 3


def alert_view(entry: FeedEntry) -> AlertView:
    """A feed entry as the feed returns it, and as the real-time channel carries it."""
    return AlertView(**entry.as_alert())


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_request_id() -> str:
    return uuid.uuid4().hex


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _new_salt() -> str:
    return secrets.token_hex(16)


def _failure_is_for(failure: DeliveryFailure, contact: str | None) -> bool:
    return contact is not None and failure.contact in (None, contact_digest(contact))


def _entered_values(settings: CalendarSettings) -> dict[str, object]:
    """What a practitioner enters, as it is saved now (without the proof of the contacts)."""
    return {
        field: getattr(settings, field)
        for field in (
            "alert_email",
            "alert_mobile",
            "time_zone",
            "locale",
            "practitioner_name",
            "visit_motive_in_email",
        )
    }


def _until_next_hour(now: datetime) -> dict[str, str]:
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return {"Retry-After": str(max(1, int((next_hour - now).total_seconds())))}


def _etag(revision: str) -> dict[str, str]:
    return {"ETag": f'"{revision}"'}


_PROOF_FIELD: dict[ContactChannel, str] = {"sms": "verified_mobile", "email": "verified_email"}
_CONTACT_WORD: dict[ContactChannel, str] = {"sms": "mobile number", "email": "e-mail address"}


def _nothing_to_verify(channel: ContactChannel, contact: str | None) -> ApiProblem:
    if contact is None:
        message = f"No {_CONTACT_WORD[channel]} is saved for this calendar; save one first."
    else:
        message = f"The {_CONTACT_WORD[channel]} is already confirmed."
    return ApiProblem(409, "nothing_to_verify", message)


def _code_expired(why: str) -> ApiProblem:
    return ApiProblem(409, "code_expired", f"{why} Request a new code and enter that one.")


@dataclass(frozen=True)
class SettingsService:
    settings: SettingsStore
    feed: AlertsFeed
    queue: NotificationSink
    test_alerts_per_hour: int
    clock: Callable[[], datetime] = field(default=_utc_now)
    new_request_id: Callable[[], str] = field(default=_new_request_id)
    delivery_log: DeliveryFailures | None = None
    new_code: Callable[[], str] = field(default=_new_code)
    new_salt: Callable[[], str] = field(default=_new_salt)
    # Per calendar and hour; and per token subject and hour, tests and codes together, so that a
    # token naming many calendars cannot multiply what it may send.
    codes_per_hour: int = 5
    sends_per_subject_per_hour: int = 10
    sms_countries: frozenset[str] = DEFAULT_SMS_COUNTRIES

    def read_settings(self, calendar_id: str) -> SettingsReply:
        read = self.settings.read(calendar_id)
        failures = self.delivery_log.last_failures(calendar_id) if self.delivery_log else None
        return SettingsReply(_view(read.current, failures), read.revision)

    def replace_settings(
        self,
        calendar_id: str,
        update: AlertSettingsInput,
        *,
        if_match: str | None = None,
        subject: str | None = None,
    ) -> SettingsReply:
        """PUT: the settings become exactly ``update``; what it leaves out is off or default."""
        return self._save(calendar_id, lambda _current: update.model_dump(), if_match, subject)

    def patch_settings(
        self,
        calendar_id: str,
        patch: AlertSettingsInput,
        *,
        if_match: str | None = None,
        subject: str | None = None,
    ) -> SettingsReply:
        """PATCH with JSON Merge Patch (RFC 7396): a member sent changes that setting, ``null``
        switches it off (or back to its default), a member left out stays as it is."""
        changes = patch.model_dump(exclude_unset=True)

        def merged(current: CalendarSettings) -> dict[str, object]:
            return {**_entered_values(current), **changes}

        return self._save(calendar_id, merged, if_match, subject)

    def _save(
        self,
        calendar_id: str,
        values_for: Callable[[CalendarSettings], Mapping[str, object]],
        if_match: str | None,
        subject: str | None,
    ) -> SettingsReply:
        for _attempt in range(_WRITE_ATTEMPTS):
            read = self.settings.read(calendar_id)
            if if_match is not None and not etag_matches(if_match, read.revision):
                raise ApiProblem(412, "stale_settings", STALE_MESSAGE, headers=_etag(read.revision))
            try:
                entered = CalendarSettings.model_validate(
                    {**values_for(read.current), "calendar_id": calendar_id},
                    context=entering(self.sms_countries),
                )
            except ValidationError as error:
                raise ApiProblem(
                    422, "invalid_settings", "The settings were not saved.", field_problems(error)
                ) from error
            # A contact stays proven only while it is the very one that was proven.
            settings = entered.keeping_proof_of(read.settings)
            try:
                self.settings.replace(settings, read=read)
                break
            except StaleSettings:
                if if_match is not None:
                    raise ApiProblem(412, "stale_settings", STALE_MESSAGE) from None
        else:
            raise ApiProblem(503, "unavailable", "The settings are being changed right now; try again.")
        previous = read.current
        not_sent = self._verify_new_contacts(previous, settings, subject)
        return SettingsReply(_view(settings, not_sent=not_sent), revision_of(settings))

    def _verify_new_contacts(
        self, previous: CalendarSettings, settings: CalendarSettings, subject: str | None
    ) -> tuple[ContactChannel, ...]:
        """Sends a code to each contact that is new and not proven; a deleted contact's pending
        code goes. Returns the channels whose code could not be sent (sent too recently)."""
        not_sent: list[ContactChannel] = []
        for channel in CONTACT_CHANNELS:
            contact = settings.contact(channel)
            if contact is None:
                if previous.contact(channel) is not None:
                    self._discard_code(settings.calendar_id, channel)
                continue
            # An unchanged pending contact gets a new code only on request.
            new = contact != previous.contact(channel) and not settings.is_verified(channel)
            if new and isinstance(self._issue_code(settings, channel, contact, subject), ApiProblem):
                not_sent.append(channel)
        return tuple(not_sent)

    # -- Verification ------------------------------------------------------------------------
    def request_code(
        self, calendar_id: str, channel: ContactChannel, *, subject: str | None = None
    ) -> CodeSent:
        """A new code for a pending contact (the first one went astray, or expired)."""
        settings = self.settings.read(calendar_id).current
        contact = settings.contact(channel)
        if contact is None or settings.is_verified(channel):
            raise _nothing_to_verify(channel, contact)
        sent = self._issue_code(settings, channel, contact, subject)
        if isinstance(sent, ApiProblem):
            raise sent
        return sent

    def confirm_code(self, calendar_id: str, channel: ContactChannel, raw_code: str) -> SettingsReply:
        code = typed_code(raw_code)
        if code is None:
            problem = FieldProblem(
                field="code", message="code: must be the 6 digits from the message", reason="code_format"
            )
            raise ApiProblem(422, "invalid_request", "The request is not valid.", [problem])
        read = self.settings.read(calendar_id)
        settings = read.current
        contact = settings.contact(channel)
        if contact is None:
            raise _nothing_to_verify(channel, contact)
        if settings.is_verified(channel):
            return SettingsReply(_view(settings), read.revision)
        pending = self.settings.get_code(calendar_id, channel)
        if pending is None or pending.expired(self.clock()):
            raise _code_expired("This code has expired or was replaced by a newer one.")
        if not self.settings.take_attempt(calendar_id, channel, pending):
            raise _code_expired("This code was tried too often.")
        if not matches(pending, calendar_id=calendar_id, channel=channel, contact=contact, code=code):
            left = pending.attempts_left - 1
            hint = (
                f"{left} attempt{'s' if left != 1 else ''} left"
                if left
                else "no attempts left; request a new code"
            )
            problem = FieldProblem(
                field="code",
                message=f"code: is not the code that was sent; {hint}",
                reason="wrong_code",
                details={"attempts_left": left},
            )
            raise ApiProblem(422, "wrong_code", "The code does not match.", [problem])
        for _attempt in range(_WRITE_ATTEMPTS):
            proven = settings.model_copy(update={_PROOF_FIELD[channel]: contact})
            try:
                self.settings.replace(proven, read=read)
                break
            except StaleSettings:
                read = self.settings.read(calendar_id)
                settings = read.current
                if settings.contact(channel) != contact:
                    raise _nothing_to_verify(channel, settings.contact(channel)) from None
        else:
            raise ApiProblem(503, "unavailable", "The settings are being changed right now; try again.")
        self._discard_code(calendar_id, channel)
        return SettingsReply(_view(proven), revision_of(proven))

    def _issue_code(
        self, settings: CalendarSettings, channel: ContactChannel, contact: str, subject: str | None
    ) -> CodeSent | ApiProblem:
        """Stores a new code and queues it to ``contact``; the 429 to answer when one went out
        too recently or the calendar's or the caller's allowance for the hour is used up."""
        now = self.clock().astimezone(UTC)
        code = self.new_code()
        pending = issue(
            calendar_id=settings.calendar_id,
            channel=channel,
            contact=contact,
            code=code,
            salt=self.new_salt(),
            now=now,
        )
        spacing = int(RESEND_SPACING.total_seconds())
        if not self.settings.put_code(settings.calendar_id, channel, pending, spacing=spacing):
            stored = self.settings.get_code(settings.calendar_id, channel)
            retry = stored.resend_after() - pending.sent_at if stored else spacing
            return ApiProblem(
                429,
                "too_many_codes",
                f"A code was sent to this {_CONTACT_WORD[channel]} moments ago; wait a minute before "
                "asking for another.",
                headers={"Retry-After": str(max(1, retry))},
            )
        refused = self._take_allowances(
            now,
            (
                f"{settings.calendar_id}{CODE_SENDS_KEY_SUFFIX}",
                self.codes_per_hour,
                "codes for this calendar",
            ),
            subject,
        )
        if refused is not None:
            self._discard_code(settings.calendar_id, channel)
            return refused
        # Only the code, the calendar's id and its language: this contact is not proven, so it
        # gets no name, no patient, nothing else the request carried.
        content = AlertContent(
            kind="verification",
            calendar_id=settings.calendar_id,
            appointment_id=f"verify-{self.new_request_id()}",
            starts_at=now,
            changed_at=now,
            time_zone=settings.time_zone,
            locale=settings.locale,
            verification_code=code,
        )
        notification = Notification(
            notification_id=notification_id(content.appointment_id, "verification", now, now, channel),
            channel=channel,
            to=contact,
            alert=content,
        )
        try:
            self.queue.enqueue([notification])
        except AlertError:
            # A code that never went out must not block the next request for a minute.
            self._discard_code(settings.calendar_id, channel)
            raise
        return CodeSent(
            calendar_id=settings.calendar_id,
            channel=channel,
            expires_at=datetime.fromtimestamp(pending.expires_at, UTC).isoformat(),
            resend_after=datetime.fromtimestamp(pending.resend_after(), UTC).isoformat(),
        )

    def _discard_code(self, calendar_id: str, channel: ContactChannel) -> None:
        # Best effort: the code expires by itself, and a newer one replaces it.
        with contextlib.suppress(AlertError):
            self.settings.delete_code(calendar_id, channel)

    def _take_allowances(
        self, now: datetime, calendar: tuple[str, int, str] | None, subject: str | None
    ) -> ApiProblem | None:
        """Counts one send against the calendar's allowance (counter, limit, what it counts) and
        the caller's; the 429 to answer when either is used up for this hour."""
        hour = now.strftime("%Y-%m-%dT%H")
        if calendar is not None:
            counter, limit, what = calendar
            if not self.settings.take_allowance(counter, hour, limit):
                return ApiProblem(
                    429,
                    "too_many_codes",
                    f"At most {limit} {what} per hour; try again later.",
                    headers=_until_next_hour(now),
                )
        if not self.settings.take_allowance(subject_counter(subject), hour, self.sends_per_subject_per_hour):
            return ApiProblem(
                429,
                "too_many_sends",
                f"At most {self.sends_per_subject_per_hour} tests and codes per hour for one person, "
                "across all the calendars they administer; try again later.",
                headers=_until_next_hour(now),
            )
        return None

    def send_test(self, calendar_id: str, *, subject: str | None = None) -> TestAlertQueued:
        settings = self._settings_of(calendar_id)
        if not settings.channels:
            raise ApiProblem(
                409,
                "no_contact",
                "No confirmed e-mail address or mobile number is set for this calendar, so there is "
                "nothing to test. Save one with PUT /calendars/{calendar_id}/alert-settings and confirm "
                "the code sent to it first."
                if not settings.entered_channels
                else "No contact of this calendar is confirmed yet, so there is nothing to test. Enter "
                "the code sent to it first (POST .../alert-settings/verification/confirm).",
            )
        now = self.clock().astimezone(UTC)
        hour = now.strftime("%Y-%m-%dT%H")
        if not self.settings.take_test_send(calendar_id, hour, self.test_alerts_per_hour):
            raise ApiProblem(
                429,
                "too_many_tests",
                f"At most {self.test_alerts_per_hour} test alerts per hour; try again later.",
                headers=_until_next_hour(now),
            )
        refused = self._take_allowances(now, None, subject)
        if refused is not None:
            raise refused
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
        return self.settings.read(calendar_id).current
