"""Delivery-events Lambda: SES bounces and complaints (via SNS) and failed-SMS logs (via
CloudWatch Logs) into the per-calendar delivery log that the settings show.

Importing this module loads only Powertools' Logger and Metrics; the rest (pydantic, boto3, the
event data classes) is imported by ``receipts()`` at the first invocation, and the Tracer is
built then too (:mod:`practitioner_alerts.tracing`). Clients are still built once per execution
environment.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

from practitioner_alerts.tracing import LazyTracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from practitioner_alerts.delivery_events import DeliveryReceipts

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()


@cache
def receipts() -> DeliveryReceipts:
    # Imported at the first invocation, not with the module: see the module docstring.
    from practitioner_alerts.adapters.dynamodb import DeliveryLogTable  # noqa: PLC0415
    from practitioner_alerts.config import DeliveryEventsConfig  # noqa: PLC0415
    from practitioner_alerts.delivery_events import DeliveryReceipts  # noqa: PLC0415
    from practitioner_alerts.wiring import client  # noqa: PLC0415

    config = DeliveryEventsConfig.from_environment()
    return DeliveryReceipts(DeliveryLogTable(client("dynamodb"), config.delivery_log_table_name))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return receipts().handle(event)
