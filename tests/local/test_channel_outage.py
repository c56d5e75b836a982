"""Channels fail on their own: with SNS down, the e-mail and the pop-up of the same alert go out
at once, and the SMS follows when SNS recovers, or is parked with its reason.

The real detector and sender run behind the local triggers, with the sender's back-off waited
out ``SCALE`` times faster. The outage's clock is the queue's: the delays the sender asked for
between attempts (10 s, 20 s, ... up to 5 min), so processing time on this machine cannot
stretch or shrink the outage. SNS answers ``Throttling`` for its first minutes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders

from practitioner_alerts_local.runtime import LocalRuntime
from tests.local.conftest import sample_calendars, write_bookings

SCALE = 0.002  # a 5-minute back-off is waited out in 0.6 s


@dataclass
class SnsOutage:
    """SNS Publish throttled for the first ``minutes`` of queue time; when SNS and SES accepted
    each message, in seconds of queue time."""

    minutes: float
    waited: float = 0.0
    accepted: dict[str, list[float]] = field(default_factory=lambda: {"sns": [], "sesv2": []})

    def now(self) -> float:
        return self.waited

    @contextlib.contextmanager
    def installed(self) -> Iterator[SnsOutage]:
        # The handlers' clients come from boto3's default session (which mock_aws renews), built
        # at their first invocation, after this registers.
        events = boto3._get_default_session().events
        events.register("before-call.sns.Publish", self._refuse, unique_id="outage")
        events.register(
            "provide-client-params.sqs.ChangeMessageVisibility", self._wait, unique_id="outage-wait"
        )
        events.register("after-call.sns.Publish", self._accepted, unique_id="outage-sns")
        events.register("after-call.sesv2.SendEmail", self._accepted, unique_id="outage-ses")
        try:
            yield self
        finally:
            events.unregister("before-call.sns.Publish", unique_id="outage")
            events.unregister("provide-client-params.sqs.ChangeMessageVisibility", unique_id="outage-wait")
            events.unregister("after-call.sns.Publish", unique_id="outage-sns")
            events.unregister("after-call.sesv2.SendEmail", unique_id="outage-ses")

    def _wait(self, params: dict[str, Any], **_: Any) -> None:
        self.waited += float(params.get("VisibilityTimeout", 0))

    def _refuse(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.now() >= self.minutes * 60:
            return None
        parsed = {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse("https://sns.invalid", 400, HTTPHeaders(), None), parsed

    def _accepted(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if "Error" not in parsed:
            self.accepted[model.service_model.service_name].append(self.now())


def _parked(runtime: LocalRuntime) -> list[dict[str, Any]]:
    return [entry for entry in runtime.report().dead_letters if entry.get("source") == "sender"]


def test_with_sns_down_for_40_minutes_email_and_popup_go_out_at_once_and_the_sms_is_parked() -> None:
    with LocalRuntime.embedded() as runtime, SnsOutage(minutes=40).installed() as outage:
        runtime.put_calendars(sample_calendars())
        write_bookings(runtime, "apt-1")
        runtime.drain(time_scale=SCALE)

        report = runtime.report()
        assert [m.channel for m in report.sent] == ["email"]
        assert outage.accepted["sesv2"][0] < 60, "the e-mail waited for the SMS"
        assert [entry["alert_id"] for entry in report.feed if entry["appointment_id"] == "apt-1"]
        (parked,) = _parked(runtime)
        assert json.loads(parked["payload"]["body"])["channel"] == "sms"
        assert parked["reason"] == "sns.Publish: Throttling (gave up after 10 attempts)"
        assert outage.accepted["sns"] == []


def test_after_a_5_minute_sns_outage_the_sms_goes_out_once_and_nothing_is_parked() -> None:
    with LocalRuntime.embedded() as runtime, SnsOutage(minutes=5).installed() as outage:
        runtime.put_calendars(sample_calendars())
        write_bookings(runtime, "apt-1")
        runtime.drain(time_scale=SCALE)

        report = runtime.report()
        assert sorted(m.channel for m in report.sent) == ["email", "sms"]
        assert outage.accepted["sesv2"][0] < 60
        (sms_at,) = outage.accepted["sns"]
        assert 5 * 60 <= sms_at < 15 * 60
        assert _parked(runtime) == []
