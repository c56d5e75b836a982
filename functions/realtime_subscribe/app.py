"""Real-time OnSubscribe Lambda: AppSync Events invokes it (direct Lambda integration, request /
response) for every subscribe to the ``alerts`` channel namespace.

Thin on purpose: Powertools does logging, tracing and metrics; the layer decides with the same
access rule as the settings API.

In a Lambda execution environment (``AWS_LAMBDA_FUNCTION_NAME`` is set) the resolver is built, its
modules imported and its clients made, at INIT, when Lambda imports this module, as AWS advises:
INIT runs on a full vCPU, is billed like an invocation since August 2025, and is all that
SnapStart or provisioned concurrency can pre-warm. Imported anywhere else (tests, tools),
``subscriptions()`` builds it on first use, from the environment of that moment.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from practitioner_alerts.access import ClaimNames
from practitioner_alerts.config import RealtimeSubscribeConfig
from practitioner_alerts.subscriptions import build_subscriptions

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import AppSyncEventsResolver
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def subscriptions() -> AppSyncEventsResolver:
    config = RealtimeSubscribeConfig.from_environment()
    return build_subscriptions(ClaimNames(config.calendars_claim, config.view_calendars_claim))


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    subscriptions()  # INIT: see the module docstring


# The event carries the caller's token claims: log_event stays off, and the tracer keeps the
# response out of X-Ray metadata.
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return subscriptions().resolve(event, context)
