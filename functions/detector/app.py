"""Detector Lambda: triggered by the appointments table's stream.

Thin on purpose: Powertools does logging, tracing and metrics; the layer decides and queues.

Importing this module loads only Powertools' Logger and Metrics. The detector itself (pydantic,
boto3, the batch utility, the domain) is imported by ``detector()`` at the first invocation, and
the Tracer is built then too (:mod:`practitioner_alerts.tracing`): a cold start does the same
work, but the part that only an invocation needs happens in it. Clients are still built once
per execution environment.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from practitioner_alerts.tracing import LazyTracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from practitioner_alerts.detector import AlertDetector

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()


@cache
def detector() -> AlertDetector:
    # Imported at the first invocation, not with the module: see the module docstring.
    from practitioner_alerts.config import DetectorConfig  # noqa: PLC0415
    from practitioner_alerts.wiring import build_detector  # noqa: PLC0415

    return build_detector(DetectorConfig.from_environment())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(detector().handle(event, context))
