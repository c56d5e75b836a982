"""Appointments as the booking platform writes them, and the change one stream record carries.

The contract is published for the platform's developers in ``docs/appointments-contract.md``;
this module is its executable form. Timestamps must carry an offset: a naive time would make
the 24-hour rule depend on where the code happens to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

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


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]
NonEmptyText = Annotated[str, Field(min_length=1)]


class Appointment(BaseModel):
    """One item of the appointments table, as the booking platform writes it."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    appointment_id: NonEmptyText
    calendar_id: NonEmptyText
    starts_at: Timestamp
    status: Literal["booked", "cancelled"]
    changed_at: Timestamp
    changed_by: Literal["patient", "practice", "system"]
    patient_first_name: str | None = None
    patient_last_name: str | None = None
    visit_motive: str | None = None
    version: int | None = None
    expires_at: int | None = None


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


def describe_validation_error(image_name: str, error: ValidationError) -> str:
    """One line naming every bad or missing field, e.g. ``NewImage.starts_at: ...``."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(item)"
        message = "missing" if item["type"] == "missing" else item["msg"]
        problems.append(f"{image_name}.{field}: {message}")
    return "; ".join(problems)


def read_appointment(image_name: str, image: Mapping[str, Any]) -> Appointment:
    try:
        return Appointment.model_validate(dict(image))
    except ValidationError as error:
        raise MalformedRecord(describe_validation_error(image_name, error)) from error


def read_change(
    *,
    event_id: str,
    event_name: str,
    keys: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    new_image: Mapping[str, Any] | None,
    principal_id: str | None = None,
) -> AppointmentChange:
    """Turn one deserialized stream record into an :class:`AppointmentChange`.

    Raises :class:`MalformedRecord` with a reason that names the missing or bad field.
    """
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise MalformedRecord(f"eventName: expected INSERT, MODIFY or REMOVE, got {event_name!r}")
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
    raise MalformedRecord("Keys.appointment_id: missing; it is the table's key and must be a string")
