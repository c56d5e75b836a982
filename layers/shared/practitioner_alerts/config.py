"""Each function's configuration, read from its environment once and handed down as arguments.

Nothing has a silent default for a name or URL: a function deployed without one fails at its
first invocation with a message naming the missing variable, instead of writing somewhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class MissingConfiguration(RuntimeError):
    pass


class _FromEnvironment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        try:
            return cls.model_validate({key.lower(): value for key, value in source.items()})
        except ValidationError as error:
            names = ", ".join(str(e["loc"][0]).upper() for e in error.errors())
            raise MissingConfiguration(
                f"{cls.__name__}: missing or invalid environment variables: {names}"
            ) from error


# ISO 3166-1 alpha-2 codes, comma-separated: the template's SmsAllowedCountries.
CountryList = Annotated[str, Field(pattern=r"^[A-Z]{2}(,[A-Z]{2})*$")]


def _countries(value: str) -> frozenset[str]:
    return frozenset(value.split(","))


class DetectorConfig(_FromEnvironment):
    settings_table_name: str
    notification_queue_url: str
    stream_dead_letter_queue_url: str
    short_notice_window_hours: Annotated[float, Field(gt=0, le=24 * 7)]
    settings_cache_seconds: Annotated[float, Field(ge=0, le=60)]
    alerts_feed_enabled: bool

    @property
    def short_notice_window(self) -> timedelta:
        return timedelta(hours=self.short_notice_window_hours)


class SenderConfig(_FromEnvironment):
    idempotency_table_name: str
    notification_dead_letter_queue_url: str
    alerts_feed_table_name: str
    sender_email: str
    ses_configuration_set: str
    sms_sender_id: Annotated[str, Field(min_length=1, max_length=11)]
    alert_feed_days: Annotated[int, Field(gt=0)]
    notification_queue_url: str
    delivery_log_table_name: str
    sms_per_calendar_per_hour: Annotated[int, Field(gt=0)]
    # SmsDigestAfter: SMS alerts of a calendar sent alone per five minutes; 0: no digest.
    sms_digest_after: Annotated[int, Field(ge=0)] = 0
    # The notification queue's RedrivePolicy maxReceiveCount (a test keeps the two equal).
    notification_max_receives: Annotated[int, Field(gt=0)]
    # AppSync Events' HTTP publish endpoint, https://<Dns.Http>/event.
    realtime_publish_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+/event$")]
    sms_allowed_countries: CountryList
    # Read before each SMS and e-mail: a contact deleted since the alert was queued gets nothing.
    settings_table_name: str

    @property
    def sms_countries(self) -> frozenset[str]:
        return _countries(self.sms_allowed_countries)


class SettingsApiConfig(_FromEnvironment):
    settings_table_name: str
    alerts_feed_table_name: str
    notification_queue_url: str
    # Names of the JWT claims that list the calendars its holder administers, and those it may
    # only see (the feed); see practitioner_alerts.access.
    calendars_claim: Annotated[str, Field(min_length=1)]
    view_calendars_claim: Annotated[str, Field(min_length=1)]
    test_alerts_per_hour: Annotated[int, Field(gt=0, le=100)]
    delivery_log_table_name: str
    verification_codes_per_hour: Annotated[int, Field(gt=0, le=100)]
    sends_per_subject_per_hour: Annotated[int, Field(gt=0, le=1000)]
    sms_allowed_countries: CountryList

    @property
    def sms_countries(self) -> frozenset[str]:
        return _countries(self.sms_allowed_countries)


class DeliveryEventsConfig(_FromEnvironment):
    delivery_log_table_name: str


class RealtimeSubscribeConfig(_FromEnvironment):
    # The same claims, with the same meaning, as the settings API's (practitioner_alerts.access).
    calendars_claim: Annotated[str, Field(min_length=1)]
    view_calendars_claim: Annotated[str, Field(min_length=1)]
