"""The real-time channel namespace's OnSubscribe handler: who may listen to which calendar.

AppSync has already checked the token (issuer, audience, signature, expiry) with its OpenID
Connect provider before it invokes this; here the token's calendars decide, through the same
access rule as the settings API (:mod:`practitioner_alerts.access`). A subscription is admitted
only to the exact channel of a calendar the caller sees; a wildcard such as ``/alerts/*`` or the
channel of another calendar is refused.

A refusal is returned, not raised: Powertools answers ``{"error": "..."}`` for it, which AppSync
turns into a ``subscribe_error`` for the client, while the invocation itself succeeds. Raising
Powertools' ``UnauthorizedException`` would fail the invocation, and every curious client would
count as a function error on the alarms.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import AppSyncEventsResolver
from aws_lambda_powertools.metrics import MetricUnit

from practitioner_alerts.access import ClaimNames, caller_from_appsync_identity
from practitioner_alerts.realtime import NAMESPACE, may_subscribe

logger = Logger(child=True)
metrics = Metrics()


class SubscriptionRefused(Exception):
    """The caller may not see the calendar of this channel (or asked for a wildcard)."""


def build_subscriptions(names: ClaimNames) -> AppSyncEventsResolver:
    app = AppSyncEventsResolver()  # type: ignore[no-untyped-call]

    @app.on_subscribe(f"/{NAMESPACE}/*")
    def admit_calendar_viewers() -> None:
        event = app.current_event
        channel = event.info.channel_path
        caller = caller_from_appsync_identity(event.get("identity"), names)
        allowed = may_subscribe(caller, channel)
        # The channel names the calendar (or its hash) and nothing else; the subject is the
        # token's opaque user id. No claims, no names.
        logger.info(
            "subscribe",
            extra={
                "channel": channel,
                "subject": caller.subject if caller else None,
                "outcome": "allowed" if allowed else "refused",
            },
        )
        metrics.add_metric(
            name="SubscribeAllowed" if allowed else "SubscribeRefused", unit=MetricUnit.Count, value=1
        )
        if not allowed:
            raise SubscriptionRefused("this token does not let you see the calendar of this channel")

    return app
