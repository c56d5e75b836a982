"""What the settings API accepts and returns; the OpenAPI document is generated from these.

Request models only bound sizes and shapes. Whether an address, number or zone is valid is
decided by :class:`~practitioner_alerts.domain.settings.CalendarSettings`, so the API, the
detector and the local ``--calendars`` file accept exactly the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from practitioner_alerts.domain.settings import LOCALE_CHOICES, MAX_PRACTITIONER_NAME, Locale

ActiveChannel = Literal["sms", "email", "in_app"]
ContactChannel = Literal["sms", "email"]
VerificationState = Literal["pending", "verified"]


# Request bounds only keep a request's work small; the rules themselves (80-character names,
# valid numbers and addresses) are CalendarSettings', so every bad field is reported at once.
_BOUND = 2000


class AlertSettingsInput(BaseModel):
    """The full set of a calendar's alert settings; a missing or empty contact switches it off."""

    model_config = ConfigDict(extra="forbid")

    alert_email: Annotated[str | None, Field(max_length=_BOUND, examples=["praxis.weber@example.com"])] = None
    alert_mobile: Annotated[str | None, Field(max_length=_BOUND, examples=["0151 23456789"])] = None
    time_zone: Annotated[str | None, Field(max_length=_BOUND, examples=["Europe/Berlin"])] = None
    # Plain text here, with the choices documented, so that CalendarSettings checks it together
    # with the other fields and a bad request gets every field's message at once.
    locale: Annotated[
        str | None, Field(max_length=_BOUND, json_schema_extra={"enum": [*LOCALE_CHOICES, None]})
    ] = None
    visit_motive_in_email: Annotated[
        bool | None,
        Field(
            description="Whether alert e-mails name the visit motive (health data); off unless set to "
            "true. SMS never carry it. The view's explanations say so in the calendar's language"
        ),
    ] = None
    practitioner_name: Annotated[
        str | None,
        Field(
            max_length=_BOUND,
            description=f"At most {MAX_PRACTITIONER_NAME} characters of one line, without web or e-mail "
            "addresses or phone numbers; shown only in alerts to verified contacts",
            examples=["Dr. Anna Weber"],
        ),
    ] = None


AdviceCode = Literal["spam_prone_mailbox", "no_contact", "contact_not_verified", "verification_not_sent"]


class Advice(BaseModel):
    """Something the practitioner should know about the settings, in the calendar's language."""

    code: AdviceCode
    message: str
    channel: ContactChannel | None = Field(
        default=None, description="The contact it is about, when it is about one"
    )


class DeliveryFailureView(BaseModel):
    """Why the last alert on a channel did not arrive, so the practitioner can fix the contact."""

    reason: str = Field(examples=["bounce: Permanent/General", "sns.Publish: InvalidParameter"])
    failed_at: str


class AlertSettingsView(BaseModel):
    calendar_id: str
    alert_email: str | None = Field(
        description="As people write it: an internationalised domain in Unicode",
        examples=["praxis@bücher.de"],
    )
    alert_email_ascii: str | None = Field(
        default=None,
        description="The form alerts are sent to: the domain in Punycode",
        examples=["praxis@xn--bcher-kva.de"],
    )
    alert_mobile: str | None = Field(description="E.164")
    time_zone: str
    locale: Locale
    practitioner_name: str | None
    channels: list[ActiveChannel] = Field(
        description="Where alerts go now: each verified contact's channel, and in_app, which is always on"
    )
    verification: dict[ContactChannel, VerificationState] = Field(
        default_factory=dict,
        description="Per contact entered: pending until the code sent to it is confirmed (no alerts go "
        "to it meanwhile), then verified",
        examples=[{"sms": "pending", "email": "verified"}],
    )
    visit_motive_in_email: bool = Field(
        default=False, description="Alert e-mails name the visit motive (health data) only when true"
    )
    explanations: dict[str, str] = Field(
        default_factory=dict,
        description="What a setting means, in the calendar's language, by field name",
        examples=[{"visit_motive_in_email": "The reason for the visit is health information. ..."}],
    )
    warnings: list[Advice]
    last_delivery_failures: dict[Literal["sms", "email"], DeliveryFailureView] = Field(
        default_factory=dict, description="per channel, the last failure of the past 30 days"
    )


class CodeRequest(BaseModel):
    """Send a new one-time code to a contact that is pending verification."""

    model_config = ConfigDict(extra="forbid")

    channel: ContactChannel


class CodeConfirmation(BaseModel):
    """The one-time code from the SMS or e-mail, typed back to prove the contact."""

    model_config = ConfigDict(extra="forbid")

    channel: ContactChannel
    code: Annotated[str, Field(min_length=1, max_length=16, examples=["042917"])]


class CodeSent(BaseModel):
    calendar_id: str
    channel: ContactChannel
    expires_at: str = Field(description="When the code stops working (UTC, ISO 8601)")
    resend_after: str = Field(description="When a new code may be requested (UTC, ISO 8601)")


class TestAlertQueued(BaseModel):
    calendar_id: str
    channels: list[Literal["sms", "email"]]
    notification_ids: list[str]


class AlertView(BaseModel):
    alert_id: str
    kind: str
    appointment_id: str
    headline: str
    starts_at: str
    previous_starts_at: str | None
    changed_at: str
    read: bool


class AlertsPage(BaseModel):
    """One page of a calendar's alerts, with what a page needs to show them and to listen for more,
    so that someone who may only see the calendar needs no other call."""

    alerts: list[AlertView]
    cursor: str | None = Field(description="Pass back as ?cursor= for the next page; null on the last")
    locale: Locale = Field(description="The calendar's language (its settings; de when none are saved)")
    time_zone: str = Field(
        description="The calendar's IANA time zone (its settings; Europe/Berlin when none are saved)",
        examples=["Europe/Berlin"],
    )
    channel: str = Field(
        description="The AppSync Events channel that carries this calendar's new alerts as they "
        "happen; each event is one alert in the form of an entry of `alerts`",
        examples=["/alerts/cal-dr-weber"],
    )


class AlertRead(BaseModel):
    alert_id: str
    read: bool


class FieldProblem(BaseModel):
    field: str
    # English, starting with the field's name.
    message: str
    # What is wrong, for a page to say in its own words: one of the settings' refusal reasons
    # (domain/settings.py, REFUSAL_REASONS), wrong_code or code_format for a one-time code, or
    # pydantic's error type (string_too_long, missing, ...) for a request's shape. None when the
    # message is all there is.
    reason: str | None = None
    # The figures that sentence needs: max_length, allowed (countries), country, attempts_left.
    details: dict[str, int | str | list[str]] | None = None

    @classmethod
    def from_validation(cls, name: str, detail: Mapping[str, Any]) -> FieldProblem:
        """One pydantic error detail, located at ``name``."""
        message = str(detail.get("msg", "is not valid")).removeprefix("Value error, ")
        reason = str(detail.get("type", "value_error"))
        details = {
            key: value
            for key, value in (detail.get("ctx") or {}).items()
            if key != "message" and isinstance(value, int | str | list) and not isinstance(value, bool)
        }
        return cls(
            field=name,
            message=f"{name}: {message}",
            reason=None if reason == "value_error" else reason,
            details=details or None,
        )


class Problem(BaseModel):
    """Every error response: a stable code, a sentence, and one entry per offending field."""

    code: str
    message: str
    errors: list[FieldProblem] = Field(default_factory=list)


class Unauthorized(BaseModel):
    """401: API Gateway's JWT authorizer answers ``{"message": "Unauthorized"}`` itself; a
    request that reaches the function without claims gets a :class:`Problem`, which also fits."""

    message: str
