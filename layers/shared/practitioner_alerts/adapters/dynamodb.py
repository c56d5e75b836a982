"""DynamoDB: calendar settings and the in-calendar alerts feed.

Idempotency records live in DynamoDB too, but Powertools' persistence layer owns that table.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import ValidationError

from practitioner_alerts.adapters.aws_errors import aws_call
from practitioner_alerts.domain.digest import DigestLine
from practitioner_alerts.domain.settings import CalendarSettings, ContactChannel
from practitioner_alerts.domain.verification import PendingCode
from practitioner_alerts.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# BatchGetItem takes at most 100 keys per call.
_BATCH_GET_LIMIT = 100
_UNPROCESSED_ATTEMPTS = 4
# Suffix of the per-calendar test-send counter item in the settings table; calendar ids that the
# settings API accepts cannot contain "#", so no calendar's settings can sit under such a key.
TEST_SENDS_KEY_SUFFIX = "#test-sends"
# Suffix of the item that holds a channel's pending verification code (its hash), beside the
# settings for the same reason.
VERIFICATION_KEY_SUFFIX = "#verification-"
# Per-calendar counter of verification codes sent, beside the settings like the test sends.
CODE_SENDS_KEY_SUFFIX = "#code-sends"


def subject_counter(subject: str | None) -> str:
    """The key of a token subject's own allowance of test and verification sends: one person
    administering many calendars gets one allowance, not one per calendar. Hashed, so that an
    odd subject cannot collide with a calendar's key (calendar ids have no '#')."""
    digest = hashlib.sha256((subject or "").encode()).hexdigest()[:32]
    return f"subject#{digest}#sends"


# Bookkeeping on the settings item, not a setting: a hash of the settings it was written with.
REVISION_ATTRIBUTE = "revision"


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def revision_of(settings: CalendarSettings) -> str:
    """A short hash of everything saved for a calendar, verification included: the settings
    API's ETag, and what a conditional write compares (equal settings, equal revision)."""
    content = json.dumps(settings.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()[:20]


class StaleSettings(PermanentError):
    """Someone else saved the calendar's settings after they were read: nothing was written."""


@dataclass(frozen=True)
class StoredSettings:
    """A calendar's settings as read, and what a write must find to replace exactly these."""

    calendar_id: str
    settings: CalendarSettings | None  # None: nothing saved yet
    stored_revision: str | None = None  # None also for an item written without one

    @property
    def current(self) -> CalendarSettings:
        # A calendar nobody has configured yet has the defaults: no contacts, Berlin, German.
        return self.settings or CalendarSettings(calendar_id=self.calendar_id)

    @property
    def revision(self) -> str:
        return self.stored_revision or revision_of(self.current)


@dataclass(frozen=True)
class InvalidSettings:
    """Stored settings that fail validation (written around the API). Alerts for the calendar
    are parked with this reason instead of failing the whole batch's settings read."""

    calendar_id: str
    reason: str


class CalendarSettingsTable:
    """The calendar settings table, keyed by ``calendar_id``."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings | InvalidSettings]:
        """Settings of every listed calendar that has any, in as few round trips as possible."""
        wanted = sorted(set(calendar_ids))
        found: dict[str, CalendarSettings | InvalidSettings] = {}
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            keys = [
                {"calendar_id": {"S": calendar_id}}
                for calendar_id in wanted[start : start + _BATCH_GET_LIMIT]
            ]
            for item in self._batch_get(keys):
                calendar_id = str(item["calendar_id"]["S"])
                try:
                    found[calendar_id] = _settings_from_item(item)
                except PermanentError as error:
                    found[calendar_id] = InvalidSettings(calendar_id, error.reason)
        return found

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {self._table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(_UNPROCESSED_ATTEMPTS):
            with aws_call("dynamodb.BatchGetItem"):
                response = self._client.batch_get_item(RequestItems=request)
            items.extend(response.get("Responses", {}).get(self._table_name, []))
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return items
            time.sleep(0.05 * 2**attempt)  # DynamoDB asks for backoff before retrying unprocessed keys
        raise TransientError("dynamodb.BatchGetItem: keys still unprocessed after retries")

    def get(self, calendar_id: str) -> CalendarSettings | None:
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(
                TableName=self._table_name, Key={"calendar_id": {"S": calendar_id}}, ConsistentRead=True
            )
        item = response.get("Item")
        return _settings_from_item(item) if item else None

    def read(self, calendar_id: str) -> StoredSettings:
        """The settings with their revision, for a write that must not overwrite someone else's."""
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(
                TableName=self._table_name, Key={"calendar_id": {"S": calendar_id}}, ConsistentRead=True
            )
        item = response.get("Item")
        if not item:
            return StoredSettings(calendar_id, None)
        revision = item.get(REVISION_ATTRIBUTE, {}).get("S")
        return StoredSettings(calendar_id, _settings_from_item(item), revision)

    def put(self, settings: CalendarSettings) -> None:
        """Writes the settings whatever is stored: for an operator's import, never for the API."""
        with aws_call("dynamodb.PutItem"):
            self._client.put_item(TableName=self._table_name, Item=_settings_item(settings))

    def replace(self, settings: CalendarSettings, *, read: StoredSettings) -> None:
        """Writes the settings only if what is stored is still what ``read`` found; else
        :class:`StaleSettings`. Two editors working from one copy cannot both win."""
        condition: dict[str, Any]
        if read.settings is None:
            condition = {"ConditionExpression": "attribute_not_exists(calendar_id)"}
        elif read.stored_revision is None:
            condition = {"ConditionExpression": "attribute_exists(calendar_id) AND attribute_not_exists(#r)"}
        else:
            condition = {
                "ConditionExpression": "#r = :r",
                "ExpressionAttributeValues": {":r": {"S": read.stored_revision}},
            }
        if read.settings is not None:
            condition["ExpressionAttributeNames"] = {"#r": REVISION_ATTRIBUTE}
        with aws_call("dynamodb.PutItem"):
            try:
                self._client.put_item(TableName=self._table_name, Item=_settings_item(settings), **condition)
            except self._client.exceptions.ConditionalCheckFailedException as error:
                raise StaleSettings("the settings changed since they were read") from error

    # -- Verification codes ----------------------------------------------------------------------
    def _code_key(self, calendar_id: str, channel: ContactChannel) -> dict[str, Any]:
        return {"calendar_id": {"S": f"{calendar_id}{VERIFICATION_KEY_SUFFIX}{channel}"}}

    def put_code(self, calendar_id: str, channel: ContactChannel, code: PendingCode, *, spacing: int) -> bool:
        """Stores a new code for the channel in place of any earlier one, unless the earlier one
        went out less than ``spacing`` seconds before this one (then False, nothing stored)."""
        item = {
            **self._code_key(calendar_id, channel),
            "code_hash": {"S": code.code_hash},
            "salt": {"S": code.salt},
            "sent_at": {"N": str(code.sent_at)},
            "expires_at": {"N": str(code.expires_at)},
            "attempts_left": {"N": str(code.attempts_left)},
        }
        with aws_call("dynamodb.PutItem"):
            try:
                self._client.put_item(
                    TableName=self._table_name,
                    Item=item,
                    ConditionExpression="attribute_not_exists(sent_at) OR sent_at <= :earliest",
                    ExpressionAttributeValues={":earliest": {"N": str(code.sent_at - spacing)}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def get_code(self, calendar_id: str, channel: ContactChannel) -> PendingCode | None:
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(
                TableName=self._table_name, Key=self._code_key(calendar_id, channel), ConsistentRead=True
            )
        item = response.get("Item")
        if not item or "code_hash" not in item:
            return None
        values = from_item(item)
        return PendingCode(
            code_hash=str(values["code_hash"]),
            salt=str(values["salt"]),
            sent_at=int(values["sent_at"]),
            expires_at=int(values["expires_at"]),
            attempts_left=int(values["attempts_left"]),
        )

    def take_attempt(self, calendar_id: str, channel: ContactChannel, code: PendingCode) -> bool:
        """Uses up one attempt at ``code``; False when none is left or another code replaced it.
        Counted before the comparison, atomically, so parallel guesses cannot share an attempt."""
        with aws_call("dynamodb.UpdateItem"):
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key=self._code_key(calendar_id, channel),
                    UpdateExpression="SET attempts_left = attempts_left - :one",
                    ConditionExpression="salt = :salt AND attempts_left > :none",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":none": {"N": "0"},
                        ":salt": {"S": code.salt},
                    },
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def delete_code(self, calendar_id: str, channel: ContactChannel) -> None:
        with aws_call("dynamodb.DeleteItem"):
            self._client.delete_item(TableName=self._table_name, Key=self._code_key(calendar_id, channel))

    def take_test_send(self, calendar_id: str, window: str, limit: int) -> bool:
        """Counts one test send in ``window`` (e.g. the hour); False once ``limit`` are used up.

        The counter is a separate item, keyed ``<calendar_id>#test-sends``, so it survives a
        settings save (PutItem replaces the settings item) and the detector, which reads only
        plain calendar ids, never sees it. One item per calendar, overwritten each window.
        """
        return self.take_allowance(f"{calendar_id}{TEST_SENDS_KEY_SUFFIX}", window, limit)

    def take_allowance(self, counter: str, window: str, limit: int) -> bool:
        """Counts one use of the allowance ``counter`` (an item key holding '#', which no
        calendar id does) in ``window``; False once ``limit`` are used up in it."""
        key = {"calendar_id": {"S": counter}}
        names = {"#window": "send_window", "#sends": "sends"}
        # Two conditional writes, because one UpdateExpression cannot both reset and increment:
        # first "one more in the current window", then "start a new window". A request racing
        # another one into a new window loses the reset and goes round once more.
        for _attempt in range(2):
            with aws_call("dynamodb.UpdateItem"):
                try:
                    self._client.update_item(
                        TableName=self._table_name,
                        Key=key,
                        UpdateExpression="SET #sends = #sends + :one",
                        ConditionExpression="#window = :window AND #sends < :limit",
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues={
                            ":one": {"N": "1"},
                            ":window": {"S": window},
                            ":limit": {"N": str(limit)},
                        },
                    )
                    return True
                except self._client.exceptions.ConditionalCheckFailedException:
                    pass
                try:
                    self._client.update_item(
                        TableName=self._table_name,
                        Key=key,
                        UpdateExpression="SET #window = :window, #sends = :one",
                        ConditionExpression="attribute_not_exists(#window) OR #window <> :window",
                        ExpressionAttributeNames=names,
                        ExpressionAttributeValues={":one": {"N": "1"}, ":window": {"S": window}},
                    )
                    return True
                except self._client.exceptions.ConditionalCheckFailedException:
                    pass
        return False


def _settings_item(settings: CalendarSettings) -> dict[str, Any]:
    return {**to_item(settings.model_dump()), REVISION_ATTRIBUTE: {"S": revision_of(settings)}}


def _settings_from_item(item: Mapping[str, Any]) -> CalendarSettings:
    settings_only = {key: value for key, value in item.items() if key != REVISION_ATTRIBUTE}
    outcome = _validated_settings(json.dumps(settings_only, sort_keys=True, default=repr))
    if isinstance(outcome, str):
        raise PermanentError(outcome)
    return outcome


@lru_cache(maxsize=4096)
def _validated_settings(item_json: str) -> CalendarSettings | str:
    """Settings change rarely and every batch reads them again: an item validated once (number
    and address checks are the detector's costliest step per calendar) is not validated again."""
    values = from_item(json.loads(item_json))
    try:
        return CalendarSettings.model_validate(values)
    except ValidationError as error:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        return f"calendar settings of {values.get('calendar_id')!r} are invalid: {fields}"


@dataclass
class CachedCalendarSettings:
    """Settings read once per batch and kept briefly across invocations.

    The time to live is short (a minute by default) so that a practitioner who deletes a
    contact stops getting messages on it within that minute. Invalid settings are never kept:
    once someone fixes them, the next batch (or a redrive) sees the fix at once. Expired entries
    are dropped, oldest first, so a warm environment holds one time to live's worth of calendars,
    not every calendar it ever saw (100,000 of them, nationally).
    """

    table: CalendarSettingsTable
    ttl_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    # In the order the entries were read, so that the oldest come first.
    _entries: OrderedDict[str, tuple[float, CalendarSettings | InvalidSettings | None]] = field(
        default_factory=OrderedDict
    )

    def __len__(self) -> int:
        """How many calendars the cache holds."""
        return len(self._entries)

    def get_many(self, calendar_ids: Iterable[str]) -> dict[str, CalendarSettings | InvalidSettings]:
        now = self.clock()
        wanted = set(calendar_ids)
        stale = {cid for cid in wanted if cid not in self._entries or self._entries[cid][0] <= now}
        if stale:
            fresh = self.table.get_many(stale)
            for calendar_id in stale:
                settings = fresh.get(calendar_id)
                expires = now if isinstance(settings, InvalidSettings) else now + self.ttl_seconds
                self._entries[calendar_id] = (expires, settings)
                self._entries.move_to_end(calendar_id)
        found = {cid: s for cid in wanted if (s := self._entries[cid][1]) is not None}
        while self._entries and next(iter(self._entries.values()))[0] <= now:
            self._entries.popitem(last=False)
        return found


@dataclass(frozen=True)
class FeedEntry:
    """One alert in a calendar's in-app feed, which the calendar's pop-up shows."""

    calendar_id: str
    alert_id: str
    kind: str
    appointment_id: str
    headline: str
    starts_at: str
    previous_starts_at: str | None
    changed_at: str
    expires_at: int
    read: bool = False

    def as_alert(self) -> dict[str, Any]:
        """The entry as the feed API shows it and the real-time channel carries it: the alert,
        without the keys and bookkeeping of the table."""
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "appointment_id": self.appointment_id,
            "headline": self.headline,
            "starts_at": self.starts_at,
            "previous_starts_at": self.previous_starts_at,
            "changed_at": self.changed_at,
            "read": self.read,
        }


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    cursor: str | None


class AlertsFeedTable:
    """The alerts feed, keyed by calendar and an ``alert_id`` that sorts by time of change."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def add(self, entry: FeedEntry) -> None:
        # Writing the same entry twice (a redelivery) must not reset a read flag.
        item = to_item({k: v for k, v in entry.__dict__.items() if k != "read"})
        with aws_call("dynamodb.PutItem", permanent_codes=frozenset()):
            try:
                self._client.put_item(
                    TableName=self._table_name,
                    Item={**item, "read": {"BOOL": False}},
                    ConditionExpression="attribute_not_exists(alert_id)",
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return

    def page(self, calendar_id: str, *, limit: int, cursor: str | None, unread_only: bool) -> FeedPage:
        """Newest first. ``cursor`` is opaque to callers: the last key, base64-encoded."""
        request: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "calendar_id = :c",
            "ExpressionAttributeValues": {":c": {"S": calendar_id}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if unread_only:
            request["FilterExpression"] = "#read = :false"
            request["ExpressionAttributeNames"] = {"#read": "read"}
            request["ExpressionAttributeValues"][":false"] = {"BOOL": False}
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, calendar_id)
        entries: list[FeedEntry] = []
        # With a filter, one Query page may hold fewer matches than asked for; keep reading.
        while True:
            with aws_call("dynamodb.Query"):
                response = self._client.query(**request)
            entries.extend(_feed_entry(item) for item in response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key or len(entries) >= limit:
                break
            request["ExclusiveStartKey"] = last_key
            request["Limit"] = limit - len(entries)
        return FeedPage(entries=entries[:limit], cursor=encode_cursor(last_key) if last_key else None)

    def mark_read(self, calendar_id: str, alert_id: str) -> bool:
        """False when there is no such alert in this calendar."""
        with aws_call("dynamodb.UpdateItem"):
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"calendar_id": {"S": calendar_id}, "alert_id": {"S": alert_id}},
                    UpdateExpression="SET #read = :true",
                    ConditionExpression="attribute_exists(alert_id)",
                    ExpressionAttributeNames={"#read": "read"},
                    ExpressionAttributeValues={":true": {"BOOL": True}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True


def _feed_entry(item: Mapping[str, Any]) -> FeedEntry:
    values = from_item(item)
    values["expires_at"] = int(values["expires_at"])
    values.setdefault("previous_starts_at", None)
    return FeedEntry(**values)


def encode_cursor(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str, calendar_id: str) -> dict[str, Any]:
    """The key to continue from; a cursor from another calendar or a forged one is refused."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if key["calendar_id"] != {"S": calendar_id} or set(key) != {"calendar_id", "alert_id"}:
            raise ValueError("cursor belongs to another calendar")
        if not isinstance(key["alert_id"].get("S"), str):
            raise ValueError("cursor is malformed")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError("cursor is not valid for this calendar") from error
    return dict(key)


@dataclass(frozen=True)
class DeliveryFailure:
    """The last thing that went wrong delivering to one of a calendar's contacts."""

    channel: str
    reason: str
    failed_at: str
    # Which contact it was for (contact_digest), so that a changed contact starts clean without
    # anyone deleting the entry; None for entries recorded before the digest was kept.
    contact: str | None = None


_DIGEST_LINE_PREFIX = "line_"


def _digest_line_attribute(notification_id: str) -> str:
    return f"{_DIGEST_LINE_PREFIX}{notification_id}"


class DeliveryLogTable:
    """A small per-calendar log: SMS spent per hour, the SMS digest windows (domain.digest), and
    the last delivery failure per channel.

    Items are keyed by ``calendar_id`` and ``entry``; an SNS message id maps back to its calendar
    through an item under ``sms-message#<id>``, because SMS delivery receipts name only the
    message id and the phone number.
    """

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def spend_sms(self, calendar_id: str, hour: str, cap: int, expires_at: int, segments: int = 1) -> bool:
        """Count an SMS of ``segments`` segments against the calendar's hourly cap, which is in
        segments because SNS bills each one; False when they no longer fit (nothing counted)."""
        if segments > cap:
            return False
        with aws_call("dynamodb.UpdateItem"):
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"calendar_id": {"S": calendar_id}, "entry": {"S": f"sms-hour#{hour}"}},
                    UpdateExpression="ADD sent :segments SET expires_at = :expires",
                    ConditionExpression="attribute_not_exists(sent) OR sent <= :room",
                    ExpressionAttributeValues={
                        ":segments": {"N": str(segments)},
                        ":room": {"N": str(cap - segments)},
                        ":expires": {"N": str(expires_at)},
                    },
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def record_failure(self, calendar_id: str, failure: DeliveryFailure, expires_at: int) -> None:
        item = {"calendar_id": calendar_id, "entry": f"last-failure#{failure.channel}", **failure.__dict__}
        with aws_call("dynamodb.PutItem"):
            self._client.put_item(
                TableName=self._table_name, Item=to_item({**item, "expires_at": expires_at})
            )

    def last_failures(self, calendar_id: str) -> dict[str, DeliveryFailure]:
        with aws_call("dynamodb.Query"):
            response = self._client.query(
                TableName=self._table_name,
                KeyConditionExpression="calendar_id = :c AND begins_with(#entry, :prefix)",
                ExpressionAttributeNames={"#entry": "entry"},
                ExpressionAttributeValues={":c": {"S": calendar_id}, ":prefix": {"S": "last-failure#"}},
            )
        failures = [from_item(item) for item in response.get("Items", [])]
        return {
            f["channel"]: DeliveryFailure(
                channel=f["channel"], reason=f["reason"], failed_at=f["failed_at"], contact=f.get("contact")
            )
            for f in failures
        }

    def count_sms_alert(self, calendar_id: str, window_key: str, expires_at: int) -> int | None:
        """Counts one more SMS alert in the calendar's digest window: how many it has now, or
        None when the window's digest has been sent (closed)."""
        with aws_call("dynamodb.UpdateItem"):
            try:
                response = self._client.update_item(
                    TableName=self._table_name,
                    Key={"calendar_id": {"S": calendar_id}, "entry": {"S": window_key}},
                    UpdateExpression="ADD alerts :one SET expires_at = :expires",
                    ConditionExpression="attribute_not_exists(closed)",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":expires": {"N": str(expires_at)}},
                    ReturnValues="UPDATED_NEW",
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return None
        return int(response["Attributes"]["alerts"]["N"])

    def join_digest(self, calendar_id: str, window_key: str, line: DigestLine, expires_at: int) -> bool:
        """Writes the alert's line into the window's digest, once however often it is written.
        False when the digest was sent without it; True when it holds the line."""
        name = _digest_line_attribute(line.notification_id)
        with aws_call("dynamodb.UpdateItem"):
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"calendar_id": {"S": calendar_id}, "entry": {"S": window_key}},
                    UpdateExpression="SET #line = :line, expires_at = :expires",
                    ConditionExpression="attribute_not_exists(closed)",
                    ExpressionAttributeNames={"#line": name},
                    ExpressionAttributeValues={
                        ":line": {"S": line.model_dump_json()},
                        ":expires": {"N": str(expires_at)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except self._client.exceptions.ConditionalCheckFailedException as error:
                # Closed: the line may have joined before, on an earlier attempt of its message.
                old: Mapping[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
                return name in old
        return True

    def close_digest(self, calendar_id: str, window_key: str) -> list[DigestLine] | None:
        """Closes the window's digest, so that no line joins it any more, and returns its lines
        in order of the appointments' starts; the same lines however often it is closed. None
        when there is no such digest (it expired)."""
        with aws_call("dynamodb.UpdateItem"):
            try:
                response = self._client.update_item(
                    TableName=self._table_name,
                    Key={"calendar_id": {"S": calendar_id}, "entry": {"S": window_key}},
                    UpdateExpression="SET closed = :closed",
                    ConditionExpression="attribute_exists(calendar_id)",
                    ExpressionAttributeValues={":closed": {"BOOL": True}},
                    ReturnValues="ALL_NEW",
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return None
        lines = [
            DigestLine.model_validate_json(value["S"])
            for name, value in response["Attributes"].items()
            if name.startswith(_DIGEST_LINE_PREFIX)
        ]
        return sorted(lines, key=lambda line: (line.starts_at, line.notification_id))

    def remember_sms(self, message_id: str, calendar_id: str, expires_at: int) -> None:
        item = {"calendar_id": f"sms-message#{message_id}", "entry": "calendar", "owner": calendar_id}
        with aws_call("dynamodb.PutItem"):
            self._client.put_item(
                TableName=self._table_name, Item=to_item({**item, "expires_at": expires_at})
            )

    def calendar_of_sms(self, message_id: str) -> str | None:
        with aws_call("dynamodb.GetItem"):
            response = self._client.get_item(
                TableName=self._table_name,
                Key={"calendar_id": {"S": f"sms-message#{message_id}"}, "entry": {"S": "calendar"}},
            )
        item = response.get("Item")
        return str(from_item(item)["owner"]) if item else None
