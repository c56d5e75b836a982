"""Sender Lambda: triggered by the FIFO notification queue.

Thin on purpose: Powertools does logging, tracing and metrics; the layer renders and delivers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.config import SenderConfig
from practitioner_alerts.sender import AlertSender
from practitioner_alerts.wiring import build_sender

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def sender() -> AlertSender:
    return build_sender(SenderConfig.from_environment())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(sender().handle(event, context))
