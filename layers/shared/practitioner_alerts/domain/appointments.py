"""Appointments as the booking platform writes them, and the change one stream record carries.

The contract is published for the platform's developers in ``docs/appointments-contract.md``;
this module is its executable form. Timestamps must carry an offset: a naive time would make
the 24-hour rule depend on where the code happens to run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from practitioner_alerts.errors import MalformedRecord

# DynamoDB's own service principal appears in userIdentity only on deletions done by TTL.
TTL_PRINCIPAL = "dynamodb.amazonaws.com"

StreamEventName = Literal["INSERT", "MODIFY", "REMOVE"]


_NUMBERS = (int, float, Decimal)  # a tuple: isinstance() on it is many times faster than on a union


def _timestamp_text(value: object) -> object:
    # The contract says S; a number would be read by pydantic as epoch seconds and silently
    # accepted, so insist on text and let the ISO-8601 parser name the problem.
    if isinstance(value, _NUMBERS):
        raise ValueError("must be an ISO-8601 string with an offset, e.g. 2027-09-09T12:00:00+02:00")
    return value


# Years outside 2000-2100 are typos or sentinels (9999-12-31, 0001-01-01); near the ends of
# Python's calendar they overflow as soon as the rule shifts them to UTC or by 24 hours.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def _plausible_year(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must fall within the years {EARLIEST_YEAR}-{LATEST_YEAR}")
    return value


# Ids travel as SQS MessageGroupId and MessageDeduplicationId parts, which take at most 128
# characters of ASCII letters, digits and punctuation; "#" is kept out of calendar ids because
# the settings table keys per-calendar counters as "<calendar_id>#...".
MAX_ID_LENGTH = 128
_APPOINTMENT_ID = re.compile(rf"[!-~]{{1,{MAX_ID_LENGTH}}}")
_CALENDAR_ID = re.compile(rf"[!-\"$-~]{{1,{MAX_ID_LENGTH}}}")
ID_RULE = f"1-{MAX_ID_LENGTH} characters, each an ASCII letter, digit or punctuation mark (no spaces)"


def is_calendar_id(value: object) -> bool:
    return isinstance(value, str) and _CALENDAR_ID.fullmatch(value) is not None


def _appointment_id_rule(value: str) -> str:
    if _APPOINTMENT_ID.fullmatch(value) is None:
        raise ValueError(f"must be {ID_RULE}")
    return value


def _calendar_id_rule(value: str) -> str:
    if not is_calendar_id(value):
        raise ValueError(f"must be {ID_RULE} other than '#'")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text), AfterValidator(_plausible_year)]
AppointmentId = Annotated[str, AfterValidator(_appointment_id_rule)]
CalendarId = Annotated[str, AfterValidator(_calendar_id_rule)]
# Free texts are bounded so that one write cannot fill an SMS, an e-mail or a queue message.
MAX_NAME_LENGTH = 100
MAX_MOTIVE_LENGTH = 500
Name = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]
Motive = Annotated[str, Field(max_length=MAX_MOTIVE_LENGTH)]


class Appointment(BaseModel):
    """One item of the appointments table, as the booking platform writes it."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    appointment_id: AppointmentId
    calendar_id: CalendarId
    starts_at: Timestamp
    status: Literal["booked", "cancelled"]
    changed_at: Timestamp
    changed_by: Literal["patient", "practice", "system"]
    patient_first_name: Name | None = None
    patient_last_name: Name | None = None
    visit_motive: Motive | None = None
    version: Annotated[int, Field(ge=0)] | None = None
    expires_at: Annotated[int, Field(ge=0)] | None = None


@dataclass(frozen=True)
class AppointmentChange:
    """What one stream record says happened to one appointment."""

    event_id: str
    event_name: StreamEventName
    appointment_id: str
    before: Appointment | None
    after: Appointment | None
    removed_by_ttl: bool = False

    @property
    def calendar_id(self) -> str | None:
        current = self.after or self.before
        return current.calendar_id if current else None


# A valid value for each attribute, as the contract (docs/appointments-contract.md) shows it:
# every refusal names the field, what the contract asks for, and one of these.
VALID_EXAMPLES: dict[str, str] = {
    "appointment_id": "apt-1001",
    "calendar_id": "cal-dr-weber",
    "starts_at": "2027-09-09T12:00:00+02:00",
    "changed_at": "2027-09-08T13:00:00+02:00",
    "status": "booked",
    "changed_by": "patient",
    "patient_first_name": "Maria",
    "patient_last_name": "Müller",
    "visit_motive": "Erstuntersuchung",
    "version": "3",
    "expires_at": "1820000000",
}
_TIMESTAMP_RULE = "must be an ISO-8601 string with an offset"
_NUMBER_FIELDS = frozenset({"version", "expires_at"})


def _contract_words(field: str, item: Mapping[str, Any]) -> str:
    """What the contract says about ``field``, for the pydantic error ``item``."""
    kind = str(item["type"])
    example = VALID_EXAMPLES.get(field)
    if kind.startswith(("datetime", "timezone")):
        said = "this one has no offset" if kind == "timezone_aware" else "this one is not a date and time"
        return f"{_TIMESTAMP_RULE}, e.g. {example} ({said})"
    if kind == "missing":
        rule = "missing"
    elif kind == "literal_error":
        rule = f"must be {item.get('ctx', {}).get('expected', 'one of the contract values')}"
    elif kind == "string_type":
        rule = "must be a string (DynamoDB type S)"
    elif kind == "string_too_long":
        rule = f"must be at most {item.get('ctx', {}).get('max_length')} characters"
    elif field in _NUMBER_FIELDS:
        rule = "must be a whole number ≥ 0 (DynamoDB type N)"
    else:
        # Our own validators (ids, years, numeric timestamps) already speak the contract's words.
        rule = str(item["msg"]).removeprefix("Value error, ")
        if "e.g." in rule:
            return rule
    return f"{rule}, e.g. {example}" if example else rule


def describe_validation_error(image_name: str, error: ValidationError) -> str:
    """One line naming every bad or missing field in the contract's words, with a valid value,
    e.g. ``NewImage.starts_at: must be an ISO-8601 string with an offset, e.g. 2027-09-09T12:00:00+02:00``."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(item)"
        problems.append(f"{image_name}.{field}: {_contract_words(field, dict(item))}")
    return "; ".join(problems)


def read_appointment(image_name: str, image: Mapping[str, Any]) -> Appointment:
    try:
        return Appointment.model_validate(dict(image))
    except ValidationError as error:
        raise MalformedRecord(describe_validation_error(image_name, error)) from error


def read_change(
    *,
    event_id: str,
    event_name: str | None,
    keys: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    new_image: Mapping[str, Any] | None,
    principal_id: str | None = None,
) -> AppointmentChange:
    """Turn one deserialized stream record into an :class:`AppointmentChange`.

    Raises :class:`MalformedRecord` with a reason that names the missing or bad field.
    """
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        said = "missing" if not event_name else f"got {event_name!r}"
        raise MalformedRecord(
            f"eventName: must be INSERT, MODIFY or REMOVE, as DynamoDB Streams writes it ({said})"
        )
    appointment_id = _appointment_id(keys, new_image, old_image)

    if event_name == "REMOVE":
        # Deletions are always silent, so a malformed old image must not park the record.
        return AppointmentChange(
            event_id=event_id,
            event_name="REMOVE",
            appointment_id=appointment_id,
            before=None,
            after=None,
            removed_by_ttl=principal_id == TTL_PRINCIPAL,
        )

    if new_image is None:
        raise MalformedRecord("NewImage: missing; the stream must use StreamViewType NEW_AND_OLD_IMAGES")
    after = read_appointment("NewImage", new_image)

    if event_name == "INSERT":
        return AppointmentChange(event_id, "INSERT", appointment_id, before=None, after=after)

    if old_image is None:
        raise MalformedRecord("OldImage: missing; the stream must use StreamViewType NEW_AND_OLD_IMAGES")
    before = read_appointment("OldImage", old_image)
    if before.calendar_id != after.calendar_id:
        raise MalformedRecord(
            "NewImage.calendar_id: an appointment never changes calendar; "
            "write a cancellation and a new booking instead"
        )
    return AppointmentChange(event_id, "MODIFY", appointment_id, before=before, after=after)


def _appointment_id(*images: Mapping[str, Any] | None) -> str:
    for image in images:
        if image and isinstance(image.get("appointment_id"), str) and image["appointment_id"]:
            return str(image["appointment_id"])
    raise MalformedRecord(
        "Keys.appointment_id: missing; it is the table's key as a string (DynamoDB type S), e.g. apt-1001"
    )
