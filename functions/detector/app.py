"""Detector Lambda: triggered by the appointments table's stream.

Thin on purpose: Powertools does logging, tracing and metrics; the layer decides and queues.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.config import DetectorConfig
from practitioner_alerts.detector import AlertDetector
from practitioner_alerts.wiring import build_detector

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def detector() -> AlertDetector:
    return build_detector(DetectorConfig.from_environment())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(detector().handle(event, context))
