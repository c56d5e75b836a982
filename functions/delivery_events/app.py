"""Delivery-events Lambda: SES bounces and complaints (via SNS) and failed-SMS logs (via
CloudWatch Logs) into the per-calendar delivery log that the settings show."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from practitioner_alerts.adapters.dynamodb import DeliveryLogTable
from practitioner_alerts.config import DeliveryEventsConfig
from practitioner_alerts.delivery_events import DeliveryReceipts
from practitioner_alerts.wiring import client

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def receipts() -> DeliveryReceipts:
    config = DeliveryEventsConfig.from_environment()
    return DeliveryReceipts(DeliveryLogTable(client("dynamodb"), config.delivery_log_table_name))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return receipts().handle(event)
