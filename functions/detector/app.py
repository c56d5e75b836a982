"""Detector Lambda: triggered by the appointments table's stream.

Thin on purpose: Powertools does logging, tracing and metrics; the layer decides and queues.

In a Lambda execution environment (``AWS_LAMBDA_FUNCTION_NAME`` is set) the detector is built, its
modules imported and its clients made, at INIT, when Lambda imports this module, as AWS advises:
INIT runs on a full vCPU, is billed like an invocation since August 2025, and is all that
SnapStart or provisioned concurrency can pre-warm. Imported anywhere else (tests, tools),
``detector()`` builds it on first use, from the environment of that moment.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from practitioner_alerts.config import DetectorConfig
from practitioner_alerts.wiring import build_detector

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from practitioner_alerts.detector import AlertDetector

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def detector() -> AlertDetector:
    return build_detector(DetectorConfig.from_environment())


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    detector()  # INIT: see the module docstring


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(detector().handle(event, context))
