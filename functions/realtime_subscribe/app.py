"""Real-time OnSubscribe Lambda: AppSync Events invokes it (direct Lambda integration, request /
response) for every subscribe to the ``alerts`` channel namespace.

Thin on purpose: Powertools does logging, tracing and metrics; the layer decides with the same
access rule as the settings API. Importing this module loads only Powertools' Logger and Metrics;
the resolver is built at the first invocation.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from practitioner_alerts.tracing import LazyTracer

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import AppSyncEventsResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()


@cache
def subscriptions() -> AppSyncEventsResolver:
    # Imported at the first invocation, not with the module: see the module docstring.
    from practitioner_alerts.access import ClaimNames  # noqa: PLC0415
    from practitioner_alerts.config import RealtimeSubscribeConfig  # noqa: PLC0415
    from practitioner_alerts.subscriptions import build_subscriptions  # noqa: PLC0415

    config = RealtimeSubscribeConfig.from_environment()
    return build_subscriptions(ClaimNames(config.calendars_claim, config.view_calendars_claim))


# The event carries the caller's token claims: log_event stays off, and the tracer keeps the
# response out of X-Ray metadata.
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return subscriptions().resolve(event, context)
