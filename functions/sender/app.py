"""Sender Lambda: triggered by the FIFO notification queue.

Thin on purpose: Powertools does logging, tracing and metrics; the layer renders and delivers.

Importing this module loads only Powertools' Logger and Metrics. The sender itself (pydantic,
boto3, idempotency, rendering) is imported by ``sender()`` at the first invocation, and the
Tracer is built then too (:mod:`practitioner_alerts.tracing`): a cold start does the same work,
but the part that only an invocation needs happens in it. Clients are still built once per
execution environment.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from practitioner_alerts.tracing import LazyTracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from practitioner_alerts.sender import AlertSender

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()


@cache
def sender() -> AlertSender:
    # Imported at the first invocation, not with the module: see the module docstring.
    from practitioner_alerts.config import SenderConfig  # noqa: PLC0415
    from practitioner_alerts.wiring import build_sender  # noqa: PLC0415

    return build_sender(SenderConfig.from_environment())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(sender().handle(event, context))
