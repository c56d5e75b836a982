"""Delivery-events Lambda: SES bounces and complaints (via SNS) and failed-SMS logs (via
CloudWatch Logs) into the per-calendar delivery log that the settings show.

In a Lambda execution environment (``AWS_LAMBDA_FUNCTION_NAME`` is set) the receipts handler is
built, its modules imported and its client made, at INIT, when Lambda imports this module, as AWS
advises:
INIT runs on a full vCPU, is billed like an invocation since August 2025, and is all that
SnapStart or provisioned concurrency can pre-warm. Imported anywhere else (tests, tools),
``receipts()`` builds it on first use, from the environment of that moment.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from practitioner_alerts.adapters.dynamodb import DeliveryLogTable
from practitioner_alerts.config import DeliveryEventsConfig
from practitioner_alerts.delivery_events import DeliveryReceipts
from practitioner_alerts.wiring import client

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def receipts() -> DeliveryReceipts:
    config = DeliveryEventsConfig.from_environment()
    return DeliveryReceipts(DeliveryLogTable(client("dynamodb"), config.delivery_log_table_name))


if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    receipts()  # INIT: see the module docstring


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return receipts().handle(event)
