"""Cost model: AWS infrastructure cost per 1M appointment changes against the message bill.

``infra_cost_ratio`` is what the AWS infrastructure (Lambda, DynamoDB, SQS, CloudWatch Logs, X-Ray,
KMS, CloudWatch metrics and alarms) costs for 1,000,000 appointment changes, divided by what the SMS
and e-mails sent for the same changes cost. The goal is a ratio of at most 0.01.

The model takes MEASURED inputs (:class:`CostInputs`, already scaled to 1M changes) and a table of
dated, sourced prices (:data:`PRICES`), and regenerates ``docs/cost-model.md``:

    .venv/bin/python -m benchmarks.cost_model            # print the table, rewrite docs/cost-model.md
    .venv/bin/python -m benchmarks.cost_model --check    # exit 1 if docs/cost-model.md is stale
    .venv/bin/python -m benchmarks.cost_model --no-write # print only

Free tiers are never subtracted. Prices are list prices in USD.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from benchmarks.capacity import CapacityInputs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOC = ROOT / "docs" / "cost-model.md"
TEMPLATE = ROOT / "template.yaml"

PER_MILLION_CHANGES = 1_000_000
GOAL = 0.01
REGION = "eu-central-1"  # samconfig.toml deploys dev and prod there
AS_OF = "2026-11-25"
GIB = 1024**3  # AWS bills "GB" of log ingestion as 2^30 bytes
MINUTES_PER_MONTH = 730 * 60  # AWS prices a month as 730 hours

# Lambda's SQS event-source pollers long-poll an idle queue; AWS documents starting with five
# concurrent pollers. A long poll waits up to 20 s, so an idle poller makes three receives a minute.
IDLE_SQS_POLLERS = 5
IDLE_RECEIVES_PER_POLLER_MINUTE = 3
SQS_CHUNK_KB = 64  # every 64 KB of a request's payload is billed as one request

# --------------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """One list price, as of a date, with where it was read and whether it could be confirmed.

    ``verified`` is True only when the figure, for the region given, was read on ``as_of`` in the
    source named (a stored copy of AWS's page, AWS's Price List API, or a dated page quoting AWS's
    rate). Anything taken from memory or carried over from another region is ``verified=False``
    and says so in ``note``.
    """

    service: str
    item: str
    unit: str  # what one unit of usd buys, e.g. "request", "GB-second", "SMS segment"
    usd: float  # per single unit
    quoted: str  # the figure as the source states it
    region: str
    as_of: str
    source: str
    verified: bool
    note: str = ""


_LAMBDA_PAGE = "https://aws.amazon.com/lambda/pricing/"
_DDB_PAGE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
_SMS_PAGE = "https://aws.amazon.com/end-user-messaging/pricing/"
_SES_PLANS = (
    "https://raw.githubusercontent.com/api-evangelist/amazon-ses/refs/heads/main/plans/"
    "amazon-ses-plans-pricing.yml"
)
_CW_PAGE = "https://aws.amazon.com/cloudwatch/pricing/"
_KMS_PAGE = "https://aws.amazon.com/kms/pricing/"
_APPSYNC_PRICE_LIST = (
    "https://huggingface.co/datasets/labofsahil/aws-pricing-dataset/blob/main/AWSAppSync.csv "
    "(AWS Price List export)"
)
_APPSYNC_PAGE = "https://aws.amazon.com/appsync/pricing/"
_SMS_NOTE = (
    "Approximate sender-ID rate per message part as last seen; AWS's page loads its country table "
    "at run time and no stored copy held it. Confirm with usage type "
    "EUC1-OutboundSMS-{iso}-Standard-Senderid-MessageFees in the Price List API."
)


def _sms(iso: str, usd: float, extra: str = "") -> Price:
    return Price(
        service="SNS SMS (End User Messaging)",
        item=f"SMS to {iso}, per segment",
        unit="SMS segment",
        usd=usd,
        quoted=f"USD {usd} per message part",
        region=REGION,
        as_of=AS_OF,
        source=_SMS_PAGE,
        verified=False,
        note=_SMS_NOTE.format(iso=iso) + extra,
    )


PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "lambda.request": Price(
            service="Lambda",
            item="requests",
            unit="request",
            usd=0.20 / 1e6,
            quoted="USD 0.20 per 1M requests",
            region="us-east-1",
            as_of=AS_OF,
            source=_LAMBDA_PAGE,
            verified=True,
            note="Read in the page's worked example (US East); the regional table is rendered "
            "client-side and was not in the stored copy. eu-central-1 is believed identical.",
        ),
        "lambda.arm64_gb_second": Price(
            service="Lambda",
            item="arm64 duration, first 7.5B GB-s/month",
            unit="GB-second",
            usd=0.0000133334,
            quoted="USD 0.0000133334 per GB-second",
            region=REGION,
            as_of=AS_OF,
            source="https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js",
            verified=True,
            note="Artillery's transcription of AWS's regional table: eu-central-1 is not among the "
            "regions priced above the base arm64 rate. The us-east-1 rate is the same on AWS's page. "
            "Since 2025-08-01 the INIT phase of managed runtimes is billed too.",
        ),
        "dynamodb.write_request_unit": Price(
            service="DynamoDB",
            item="on-demand write request units",
            unit="WRU",
            usd=0.7625 / 1e6,
            quoted="USD 0.7625 per 1M write request units",
            region=REGION,
            as_of=AS_OF,
            source=_DDB_PAGE,
            verified=False,
            note="Frankfurt figure from memory (AWS's table after the 2024-11-01 cut of 50%); the "
            "stored page copy has no numbers. The us-east-1 rate, USD 0.625 per 1M, was confirmed "
            "(airbyte.com/data-engineering-resources/dynamodb-pricing, 2025-07-21).",
        ),
        "dynamodb.read_request_unit": Price(
            service="DynamoDB",
            item="on-demand read request units",
            unit="RRU",
            usd=0.1525 / 1e6,
            quoted="USD 0.1525 per 1M read request units",
            region=REGION,
            as_of=AS_OF,
            source=_DDB_PAGE,
            verified=False,
            note="Frankfurt figure from memory; the us-east-1 rate, USD 0.125 per 1M, was confirmed "
            "(same airbyte.com page).",
        ),
        "dynamodb.stream_read_by_lambda": Price(
            service="DynamoDB Streams",
            item="GetRecords made by a Lambda trigger",
            unit="stream record",
            usd=0.0,
            quoted="free when the reader is a Lambda event source mapping",
            region=REGION,
            as_of=AS_OF,
            source=_DDB_PAGE,
            verified=False,
            note="From memory of the pricing page's Streams section; not in the stored copy.",
        ),
        "sqs.fifo_request": Price(
            service="SQS",
            item="FIFO requests (per 64 KB chunk)",
            unit="request",
            usd=0.50 / 1e6,
            quoted="USD 0.50 per 1M FIFO requests",
            region="us-east-1",
            as_of=AS_OF,
            source="https://cloudburn.io/blog/amazon-sqs-pricing",
            verified=True,
            note="Dated 2026-03-14, us-east-1 (also factualminds.com, 2026-06-13). eu-central-1 "
            "believed identical. Every SQS call here is priced as FIFO, including the rare park in "
            "the standard stream dead-letter queue (USD 0.40 per 1M).",
        ),
        "sns.publish_to_phone": Price(
            service="SNS",
            item="Publish straight to a phone number (API call)",
            unit="request",
            usd=0.0,
            quoted="no publish charge; the SMS is billed per segment",
            region=REGION,
            as_of=AS_OF,
            source="https://aws.amazon.com/sns/pricing/",
            verified=False,
            note="From memory; the segments are priced under the SMS lines.",
        ),
        "ses.outbound_recipient": Price(
            service="SES",
            item="outbound e-mail, à la carte",
            unit="e-mail",
            usd=0.0001,
            quoted="USD 0.10 per 1,000 outbound recipients",
            region="us-east-1",
            as_of=AS_OF,
            source=_SES_PLANS,
            verified=True,
            note="Read from AWS's Price List API (AmazonSES us-east-1, published 2026-07-22) by the "
            "source. À la carte is the default for accounts that sent through SES since 2025-06-01; "
            "one alert e-mail has one recipient. Attachment data is not relevant (none sent).",
        ),
        "ses.outbound_essentials": Price(
            service="SES",
            item="outbound e-mail, Essentials plan (first 10M)",
            unit="e-mail",
            usd=0.00016,
            quoted="USD 0.00016 per e-mail",
            region="us-east-1",
            as_of=AS_OF,
            source=_SES_PLANS,
            verified=True,
            note="Default plan for new SES accounts since 2026-07-21; used only in 'what moves the ratio'.",
        ),
        "ses.api_call": Price(
            service="SES",
            item="SendEmail (API call)",
            unit="request",
            usd=0.0,
            quoted="no charge beyond the e-mail itself",
            region="us-east-1",
            as_of=AS_OF,
            source=_SES_PLANS,
            verified=True,
            note="The price list has no per-call SKU for sending; the e-mail is priced under messages.",
        ),
        "cloudwatch.log_ingestion": Price(
            service="CloudWatch Logs",
            item="log ingestion (Lambda logs, first 10 TB tier)",
            unit="GB",
            usd=0.63,
            quoted="USD 0.63 per GB ingested",
            region=REGION,
            as_of=AS_OF,
            source=_CW_PAGE,
            verified=False,
            note="Frankfurt figure from memory. us-east-1 USD 0.50 per GB confirmed "
            "(duckbillgroup.com/?p=9080, c3x.dev, 2026-06); Lambda logs are vended logs since "
            "2025-05-01, whose first tier equals the standard rate.",
        ),
        "xray.trace_recorded": Price(
            service="X-Ray",
            item="traces recorded",
            unit="trace",
            usd=5.00 / 1e6,
            quoted="USD 5.00 per 1M traces recorded",
            region="us-east-1",
            as_of=AS_OF,
            source="https://aws.amazon.com/de/xray/pricing/",
            verified=True,
            note="The page states one rate without a region; eu-central-1 believed identical.",
        ),
        "kms.request": Price(
            service="KMS",
            item="symmetric key requests",
            unit="request",
            usd=0.03 / 10_000,
            quoted="USD 0.03 per 10,000 requests",
            region="us-east-1",
            as_of=AS_OF,
            source="https://www.wring.co/blog/aws-kms-pricing-guide",
            verified=True,
            note="Also factualminds.com (2026-06). eu-central-1 believed identical.",
        ),
        "kms.key_month": Price(
            service="KMS",
            item="customer managed key (and each rotated version)",
            unit="key-month",
            usd=1.00,
            quoted="USD 1 per key per month, plus USD 1 per rotated backing key",
            region=REGION,
            as_of=AS_OF,
            source=_KMS_PAGE,
            verified=True,
        ),
        "cloudwatch.custom_metric": Price(
            service="CloudWatch",
            item="custom metric (EMF), first 10,000",
            unit="metric-month",
            usd=0.30,
            quoted="USD 0.30 per metric per month",
            region=REGION,
            as_of=AS_OF,
            source=_CW_PAGE,
            verified=False,
            note="From memory and a third-party calculator page; Frankfurt believed identical to us-east-1.",
        ),
        "cloudwatch.alarm": Price(
            service="CloudWatch",
            item="standard-resolution metric alarm",
            unit="alarm-month",
            usd=0.10,
            quoted="USD 0.10 per alarm metric per month",
            region=REGION,
            as_of=AS_OF,
            source=_CW_PAGE,
            verified=False,
            note="From memory; not confirmed in a stored copy.",
        ),
        "appsync.event_operation": Price(
            service="AppSync Events",
            item="Event API operations (publishes, deliveries to subscribers, connects, subscribes)",
            unit="operation",
            usd=1.00 / 1e6,
            quoted="$1 per million Event API operations in EU (Ireland), EffectiveDate 2024-09-01",
            region="eu-west-1",
            as_of="2024-09-01",
            source=_APPSYNC_PRICE_LIST,
            verified=False,
            note="Read in a stored export of AWS's Price List (usage type EU-EventAPI-Operation) for "
            "eu-west-1; eu-central-1 was not in the excerpt and is believed identical.",
        ),
        "appsync.connection_minute": Price(
            service="AppSync Events",
            item="WebSocket connection minutes",
            unit="connection-minute",
            usd=0.08 / 1e6,
            quoted="USD 0.08 per million connection minutes",
            region=REGION,
            as_of=AS_OF,
            source=_APPSYNC_PAGE,
            verified=False,
            note="The stored copy of AWS's AppSync pricing page showed USD 0.08 per million "
            "connection minutes for AppSync's real-time (GraphQL) connections; the Event API's rate "
            "is taken to be the same, not read.",
        ),
        "sms.DE": _sms("DE", 0.0800),
        "sms.AT": _sms("AT", 0.0850),
        "sms.CH": _sms("CH", 0.0550),
        "sms.FR": _sms("FR", 0.0750),
        "sms.IT": _sms("IT", 0.0800),
        "sms.GB": _sms("GB", 0.0400),
        "sms.US": _sms("US", 0.0088, " For the US the figure includes an average carrier fee."),
    }
)

# Which price an AWS API call ("service.Operation") is billed at, when it is not DynamoDB.
_CALL_PRICES: Mapping[str, str] = MappingProxyType(
    {
        "sqs": "sqs.fifo_request",
        "kms": "kms.request",
        "sns.Publish": "sns.publish_to_phone",
        "sesv2.SendEmail": "ses.api_call",
        "dynamodbstreams": "dynamodb.stream_read_by_lambda",
        "appsync": "appsync.event_operation",
    }
)
_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
_DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
_DYNAMODB_SUMMED_READS = frozenset({"Query", "Scan"})  # sized on all items returned together


# --------------------------------------------------------------------------------------------------
# Inputs and report
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionUsage:
    name: str  # "detector", "sender", ...
    invocations: float  # per 1M appointment changes
    avg_billed_ms: float  # modelled duration per invocation; billed rounded up to whole ms
    memory_mb: int  # from template.yaml
    log_bytes: float  # CloudWatch Logs bytes ingested per 1M changes, platform lines included


@dataclass(frozen=True)
class CostInputs:
    changes: int  # appointment changes measured (the scale factor is 1_000_000 / changes)
    measured_on: str  # ISO date of the run
    functions: tuple[FunctionUsage, ...]  # already scaled per 1M changes
    # AWS API calls per 1M changes, "service.Operation"; DynamoDB calls may name their table as
    # "dynamodb.PutItem@idempotency" so that the table's item size sets the request units.
    calls: Mapping[str, float]
    sqs_requests_polling: float  # event-source ReceiveMessage + DeleteMessageBatch; 0 = model it
    appointment_writes: float  # the booking platform's writes to the appointments table
    sms_by_country: Mapping[str, float]  # SMS segments per 1M changes by ISO country
    emails: float  # e-mails per 1M changes
    avg_item_kb: Mapping[str, float]  # average item size per table
    xray_traces: float  # traces recorded per 1M changes (see default_sampled_traces)
    # Added fields, all with defaults so that callers of the fields above need not change:
    # items per DynamoDB call, for BatchGetItem/Query/BatchWriteItem keys (1 when absent);
    items_per_call: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # the monthly volume that time-based costs (fixed_monthly, idle SQS polling) are spread over;
    changes_per_month: float = 1_000_000.0
    # monthly quantities of time-based prices, keyed by PRICES key (alarms, custom metrics, keys);
    fixed_monthly: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # segments per SMS, to turn segments back into messages for the e-mail-only comparison.
    sms_segments_per_message: float = 1.0
    # how these inputs were measured or modelled, listed first among the doc's assumptions.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float
    unit_usd: float
    usd: float
    unit: str = ""
    kind: Literal["infra", "message"] = "infra"
    price_key: str = ""


@dataclass(frozen=True)
class CostReport:
    infra_usd: float
    message_usd: float
    ratio: float  # infra_usd / message_usd
    lines: tuple[CostLine, ...]


# --------------------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------------------


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next whole millisecond (at least 1 ms)."""
    return max(1, math.ceil(duration_ms))


def gb_seconds(function: FunctionUsage) -> float:
    return function.invocations * billed_ms(function.avg_billed_ms) / 1000 * function.memory_mb / 1024


def write_request_units(item_kb: float) -> int:
    """A standard write of up to 1 KB is one WRU; larger items take one more per started KB."""
    return max(1, math.ceil(item_kb))


def read_request_units(item_kb: float) -> int:
    """A strongly consistent read of up to 4 KB is one RRU (every read here is consistent)."""
    return max(1, math.ceil(item_kb / 4))


def default_sampled_traces(invocations: float, active_seconds: float) -> float:
    """Traces Lambda's default X-Ray sampling records: the first request each second, 5% of the rest.

    Invocations are taken to arrive as a Poisson process over ``active_seconds``; per second the
    reservoir takes one if any arrive, and 5% of the others are sampled.
    """
    if invocations <= 0 or active_seconds <= 0:
        return 0.0
    per_second = invocations / active_seconds
    any_arrives = 1 - math.exp(-per_second)
    return active_seconds * (any_arrives + 0.05 * (per_second - any_arrives))


def modelled_polling_requests(inputs: CostInputs) -> float:
    """SQS requests of Lambda's pollers per 1M changes, when they were not measured.

    Each sender invocation follows one ReceiveMessage that returned its batch and is followed by one
    DeleteMessageBatch; on top, IDLE_SQS_POLLERS long-poll the queue whenever it is empty. At the
    traffic modelled the queue is empty nearly all the time, so the idle receives run all month;
    spread over ``changes_per_month``.
    """
    sender = sum(f.invocations for f in inputs.functions if f.name == "sender")
    idle_per_month = IDLE_SQS_POLLERS * IDLE_RECEIVES_PER_POLLER_MINUTE * MINUTES_PER_MONTH
    return 2 * sender + idle_per_month * PER_MILLION_CHANGES / inputs.changes_per_month


def _table_size(inputs: CostInputs, table: str | None) -> float:
    if table is None:
        # Unqualified DynamoDB calls: the largest item size given, or 1 KB (one unit) when none is.
        return max(inputs.avg_item_kb.values(), default=1.0)
    if table not in inputs.avg_item_kb:
        raise ValueError(f"avg_item_kb has no size for table {table!r}")
    return inputs.avg_item_kb[table]


def _dynamodb_line(inputs: CostInputs, key: str, calls: float) -> CostLine:
    operation, _, table = key.removeprefix("dynamodb.").partition("@")
    item_kb = _table_size(inputs, table or None)
    items = inputs.items_per_call.get(key, 1.0)
    where = f" on {table}" if table else ""
    if operation in _DYNAMODB_WRITES:
        price_key, units = "dynamodb.write_request_unit", calls * items * write_request_units(item_kb)
    elif operation in _DYNAMODB_SUMMED_READS:
        price_key, units = "dynamodb.read_request_unit", calls * read_request_units(items * item_kb)
    elif operation in _DYNAMODB_READS:
        price_key, units = "dynamodb.read_request_unit", calls * items * read_request_units(item_kb)
    elif operation == "TransactWriteItems":  # transactional requests take two units
        price_key, units = "dynamodb.write_request_unit", 2 * calls * items * write_request_units(item_kb)
    elif operation == "TransactGetItems":
        price_key, units = "dynamodb.read_request_unit", 2 * calls * items * read_request_units(item_kb)
    else:
        raise ValueError(f"no price for DynamoDB call {key!r}")
    price = PRICES[price_key]
    quantity = units
    item = f"{operation}{where}: {calls:,.0f} calls, {item_kb:g} KB items"
    if items != 1.0:
        item += f", {items:g} items per call"
    return CostLine(
        service="DynamoDB",
        item=item,
        quantity=quantity,
        unit=price.unit,
        unit_usd=price.usd,
        usd=quantity * price.usd,
        price_key=price_key,
    )


def _call_line(inputs: CostInputs, key: str, calls: float) -> CostLine:
    if key.startswith("dynamodb."):
        return _dynamodb_line(inputs, key, calls)
    service = key.split(".", 1)[0]
    price_key = _CALL_PRICES.get(key) or _CALL_PRICES.get(service)
    if price_key is None:
        raise ValueError(f"no price for AWS call {key!r}; add it to PRICES and _CALL_PRICES")
    price = PRICES[price_key]
    return CostLine(
        service=price.service,
        item=key,
        quantity=calls,
        unit=price.unit,
        unit_usd=price.usd,
        usd=calls * price.usd,
        price_key=price_key,
    )


def _line(service: str, item: str, quantity: float, price_key: str, kind: str = "infra") -> CostLine:
    price = PRICES[price_key]
    assert kind in ("infra", "message")
    return CostLine(
        service=service,
        item=item,
        quantity=quantity,
        unit=price.unit,
        unit_usd=price.usd,
        usd=quantity * price.usd,
        kind="message" if kind == "message" else "infra",
        price_key=price_key,
    )


def estimate(inputs: CostInputs) -> CostReport:
    """Infrastructure and message cost per 1M appointment changes, line by line."""
    lines: list[CostLine] = []
    for function in inputs.functions:
        lines.append(_line("Lambda", f"{function.name}: requests", function.invocations, "lambda.request"))
        lines.append(
            _line(
                "Lambda",
                f"{function.name}: {billed_ms(function.avg_billed_ms)} ms x {function.memory_mb} MB arm64",
                gb_seconds(function),
                "lambda.arm64_gb_second",
            )
        )
    for function in inputs.functions:
        lines.append(
            _line(
                "CloudWatch Logs",
                f"{function.name}: {function.log_bytes:,.0f} bytes",
                function.log_bytes / GIB,
                "cloudwatch.log_ingestion",
            )
        )
    appointments_kb = _table_size(inputs, "appointments" if "appointments" in inputs.avg_item_kb else None)
    lines.append(
        _line(
            "DynamoDB",
            f"booking platform writes to appointments: {inputs.appointment_writes:,.0f}, "
            f"{appointments_kb:g} KB",
            inputs.appointment_writes * write_request_units(appointments_kb),
            "dynamodb.write_request_unit",
        )
    )
    lines.append(
        _line(
            "DynamoDB Streams",
            "stream records read by the detector's trigger",
            inputs.appointment_writes,
            "dynamodb.stream_read_by_lambda",
        )
    )
    for key in sorted(inputs.calls):
        lines.append(_call_line(inputs, key, inputs.calls[key]))
    polling = inputs.sqs_requests_polling
    polling_item = "event-source polling (measured)"
    if polling == 0:
        polling = modelled_polling_requests(inputs)
        polling_item = "event-source polling (modelled: receive + delete per batch, idle long polls)"
    lines.append(_line("SQS", polling_item, polling, "sqs.fifo_request"))
    lines.append(_line("X-Ray", "traces recorded", inputs.xray_traces, "xray.trace_recorded"))
    spread = PER_MILLION_CHANGES / inputs.changes_per_month
    for key in sorted(inputs.fixed_monthly):
        price = PRICES[key]
        monthly = inputs.fixed_monthly[key]
        lines.append(
            _line(
                price.service,
                f"{price.item}: {monthly:,.0f} a month over {inputs.changes_per_month:,.0f} changes",
                monthly * spread,
                key,
            )
        )
    for country in sorted(inputs.sms_by_country):
        price_key = f"sms.{country}"
        if price_key not in PRICES:
            raise ValueError(f"no SMS price for country {country!r}")
        lines.append(
            _line(
                "SNS SMS", f"SMS segments to {country}", inputs.sms_by_country[country], price_key, "message"
            )
        )
    lines.append(_line("SES", "e-mails", inputs.emails, "ses.outbound_recipient", "message"))
    infra = sum(line.usd for line in lines if line.kind == "infra")
    message = sum(line.usd for line in lines if line.kind == "message")
    ratio = infra / message if message else math.inf
    return CostReport(infra_usd=infra, message_usd=message, ratio=ratio, lines=tuple(lines))


def sms_messages(inputs: CostInputs) -> float:
    return sum(inputs.sms_by_country.values()) / inputs.sms_segments_per_message


def email_only_message_usd(inputs: CostInputs, email_price_key: str = "ses.outbound_recipient") -> float:
    """The message bill if every SMS had been an e-mail instead (an e-mail-only practice)."""
    return (inputs.emails + sms_messages(inputs)) * PRICES[email_price_key].usd


def service_totals(report: CostReport) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in report.lines:
        if line.kind == "infra":
            totals[line.service] = totals.get(line.service, 0.0) + line.usd
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


# --------------------------------------------------------------------------------------------------
# The example
# --------------------------------------------------------------------------------------------------


def template_facts(path: Path = TEMPLATE) -> tuple[dict[str, int], int, int]:
    """Memory per function, CloudWatch alarms and KMS keys, read from template.yaml."""
    from practitioner_alerts_local.template import load_template  # noqa: PLC0415 - dev-only import

    template = load_template(path)
    default_memory = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    memory: dict[str, int] = {}
    alarms = keys = 0
    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            memory[logical_id] = int(resource.get("Properties", {}).get("MemorySize", default_memory))
        elif kind == "AWS::CloudWatch::Alarm":
            alarms += 1
        elif kind == "AWS::KMS::Key":
            keys += 1
    return memory, alarms, keys


@dataclass(frozen=True)
class AbuseLimits:
    """What the settings API lets one calendar, and one person, send on request; from the
    template's parameter defaults."""

    tests_per_hour: int  # TestAlertsPerHour, per calendar
    codes_per_hour: int  # VerificationCodesPerHour, per calendar
    sends_per_subject_per_hour: int  # SendsPerSubjectPerHour, per token subject
    sms_segments_per_calendar_per_hour: int  # SmsPerCalendarPerHour, the cap in segments
    allowed_countries: tuple[str, ...]  # SmsAllowedCountries


HOURS_PER_MONTH = 30 * 24


def abuse_limits(path: Path = TEMPLATE) -> AbuseLimits:
    from practitioner_alerts_local.template import load_template  # noqa: PLC0415 - dev-only import

    parameters = load_template(path)["Parameters"]

    def default(name: str) -> int:
        return int(parameters[name]["Default"])

    return AbuseLimits(
        tests_per_hour=default("TestAlertsPerHour"),
        codes_per_hour=default("VerificationCodesPerHour"),
        sends_per_subject_per_hour=default("SendsPerSubjectPerHour"),
        sms_segments_per_calendar_per_hour=default("SmsPerCalendarPerHour"),
        allowed_countries=tuple(str(parameters["SmsAllowedCountries"]["Default"]).split(",")),
    )


def worst_abuse(limits: AbuseLimits) -> list[tuple[str, float, float]]:
    """(who, SMS segments a month, USD a month) for an abuser who asks for every test and code
    the limits allow, around the clock, each SMS as long as the renderer ever makes one (two
    segments), to the dearest allowed country with a price in :data:`PRICES`."""
    from practitioner_alerts.rendering.sms import MAX_SEGMENTS  # noqa: PLC0415

    priced = [PRICES[f"sms.{iso}"].usd for iso in limits.allowed_countries if f"sms.{iso}" in PRICES]
    dearest = max(priced)
    on_request = (limits.tests_per_hour + limits.codes_per_hour) * MAX_SEGMENTS
    per_calendar = min(on_request, limits.sms_segments_per_calendar_per_hour) * HOURS_PER_MONTH
    per_subject = limits.sends_per_subject_per_hour * MAX_SEGMENTS * HOURS_PER_MONTH
    capped = limits.sms_segments_per_calendar_per_hour * HOURS_PER_MONTH
    return [
        (
            "one calendar, tests and codes on request (any number of people)",
            per_calendar,
            per_calendar * dearest,
        ),
        ("one person (token subject), across all their calendars", per_subject, per_subject * dearest),
        ("one calendar, anything at all (the SMS cap, alerts included)", capped, capped * dearest),
    ]


def abuse_section(limits: AbuseLimits) -> list[str]:
    priced = sorted(iso for iso in limits.allowed_countries if f"sms.{iso}" in PRICES)
    dearest = max(priced, key=lambda iso: PRICES[f"sms.{iso}"].usd)
    out = [
        "## Worst abuse within the limits",
        "",
        "What a stolen practitioner login could make the SMS bill at most, per month of 30 days, "
        f"asking around the clock for every test ({limits.tests_per_hour} an hour per calendar) and "
        f"verification code ({limits.codes_per_hour} an hour per calendar, "
        f"{limits.sends_per_subject_per_hour} tests and codes an hour per person) the settings API "
        f"allows, each SMS two segments long, all to {dearest} (the dearest of the allowed countries "
        f"priced here: {', '.join(priced)}), with the SMS cap of "
        f"{limits.sms_segments_per_calendar_per_hour} segments per calendar and hour. Numbers outside "
        f"SmsAllowedCountries ({len(limits.allowed_countries)} countries) and satellite or premium "
        "numbers get nothing.",
        "",
    ]
    out += _table(
        ("who", "SMS segments a month", "USD a month"),
        [(who, _quantity(segments), _usd(usd)) for who, segments, usd in worst_abuse(limits)],
    )
    out += [
        "",
        "Lower `TestAlertsPerHour`, `VerificationCodesPerHour`, `SendsPerSubjectPerHour` or "
        "`SmsPerCalendarPerHour` to lower these ceilings; the account's SNS `MonthlySpendLimit` "
        "bounds all calendars together.",
        "",
    ]
    return out


# The calendar pages behind the pop-up. Assumed, not measured: what AppSync Events bills for
# depends on how many pages are open and for how long, which the pipeline cannot see.
OPEN_PAGES_PER_MILLION_CHANGES = 2_000  # calendar pages open in office hours, 1M changes a month
PAGES_PER_ALERT = 1.5  # pages subscribed to an alert's calendar: the practitioner, often the desk
OFFICE_MINUTES_PER_MONTH = 22 * 10 * 60  # 22 days x 10 hours
RECONNECTS_PER_PAGE_HOUR = 1.0  # a fresh token every hour means a new connection and subscribe
ON_SUBSCRIBE_MS = 5.0  # the OnSubscribe function looks at the token's claims, nothing else
# Measured on 2026-12-01 by invoking functions/realtime_subscribe/app.py with
# events/realtime-subscribe.json and a deployed-length function name: its "subscribe" line is
# 552 bytes, its EMF metrics line 232.
SUBSCRIBE_LINE = 552
SUBSCRIBE_EMF_LINE = 232


def realtime_usage(
    feed_entries: float,
    memory_mb: int,
    changes_per_month: float = 1_000_000,
    cold_start_ms: float = 800.0,
) -> tuple[dict[str, float], dict[str, float], FunctionUsage]:
    """AppSync Events per 1M changes: one publish per feed entry (the sender pushes each entry it
    writes, once) delivered to the pages open on its calendar; and, per month, the pages'
    connection minutes and their connects and subscribes, each subscribe one OnSubscribe call."""
    pages = OPEN_PAGES_PER_MILLION_CHANGES * changes_per_month / PER_MILLION_CHANGES
    connections = pages * OFFICE_MINUTES_PER_MONTH / 60 * RECONNECTS_PER_PAGE_HOUR
    spread = PER_MILLION_CHANGES / changes_per_month
    calls = {
        "appsync.EventPublish": feed_entries,
        "appsync.EventDelivery": feed_entries * PAGES_PER_ALERT,
    }
    monthly = {
        "appsync.connection_minute": pages * OFFICE_MINUTES_PER_MONTH,
        # a connect and a subscribe per connection
        "appsync.event_operation": 2 * connections,
    }
    on_subscribe = FunctionUsage(
        name="realtime_subscribe",
        invocations=connections * spread,
        # a warm decision (modelled) plus a cold start on 1% of invocations
        avg_billed_ms=ON_SUBSCRIBE_MS + 0.01 * cold_start_ms,
        memory_mb=memory_mb,
        log_bytes=connections * spread * (SUBSCRIBE_LINE + SUBSCRIBE_EMF_LINE + PLATFORM_LINES),
    )
    return calls, monthly, on_subscribe


# Log line sizes measured on 2026-11-25 by replaying events/stream-online-booking.json through the
# local runtime (practitioner-alerts replay): the detector's "decision" line 617 bytes, its EMF
# metrics line 224, the sender's "notification delivered" line 602 and its EMF line 360.
DETECTOR_DECISION_LINE = 617
DETECTOR_EMF_LINE = 224
SENDER_DELIVERED_LINE = 602
SENDER_EMF_LINE = 360
# Lambda's own lines per invocation (text format): START ~100, END ~60, REPORT ~300 bytes with its
# X-Ray trace fields.
PLATFORM_LINES = 460


def example_inputs() -> CostInputs:
    """A documented, plausible month of 1,000,000 appointment changes for practices in DACH.

    * 30% of changes alert (online bookings and late online cancellations or reschedules); the
      rest (practice-side edits, early changes, removals) are silent.
    * Every alert gets an in-calendar feed entry; 60% of calendars have an SMS number, 80% an
      e-mail address: 300,000 feed entries, 180,000 SMS, 240,000 e-mails, 720,000 notifications.
    * SMS average 1.05 segments (the renderer keeps German and French texts in GSM-7, one segment
      where it can), to DE 70%, AT 12%, CH 10%, FR 3%, IT 2%, GB 2%, US 1%.
    * Traffic falls in office hours: 22 days x 10 hours a month. The detector sees 2 records per
      invocation (5 s batching window, a few stream shards); the notifications of one change share
      a FIFO group and mostly arrive in one sender batch (1.1 sender invocations per alerting change).
    * Delivery events: 1% of e-mails bounce or complain, 3% of SMS fail (7,800 invocations).
    * Durations are modelled, not measured on AWS: detector 60 ms, sender 180 ms, delivery events
      40 ms warm at 256 MB; cold starts (1.5 s INIT, billed since 2025-08-01) on 0.5% of detector
      and sender invocations and on half of the rare delivery-event invocations.
    * Calls per notification were counted on the local runtime (one online booking with SMS, e-mail
      and feed): idempotency PutItem + UpdateItem per notification; per SMS one DeliveryLog
      UpdateItem (hourly cap) and one PutItem (receipt mapping) and sns.Publish; per e-mail
      sesv2.SendEmail; per feed entry one PutItem; per alerting change one SendMessageBatch; per
      detector invocation one consistent BatchGetItem of the batch's calendars.
    """
    changes = PER_MILLION_CHANGES
    alerting = 0.30 * changes
    sms, emails, feed = 0.60 * alerting, 0.80 * alerting, alerting
    notifications = sms + emails + feed
    segments_per_sms = 1.05
    email_failures, sms_failures = 0.01 * emails, 0.03 * sms
    active_seconds = 22 * 10 * 3600

    memory, alarms, kms_keys = template_facts()
    detector_invocations = changes / 2.0
    sender_invocations = 1.1 * alerting
    delivery_event_invocations = email_failures + sms_failures
    cold = 0.005 * 1500
    functions = (
        FunctionUsage(
            name="detector",
            invocations=detector_invocations,
            avg_billed_ms=60 + cold,
            memory_mb=memory["DetectorFunction"],
            log_bytes=changes * DETECTOR_DECISION_LINE
            + detector_invocations * (DETECTOR_EMF_LINE + PLATFORM_LINES),
        ),
        FunctionUsage(
            name="sender",
            invocations=sender_invocations,
            avg_billed_ms=180 + cold,
            memory_mb=memory["SenderFunction"],
            log_bytes=notifications * SENDER_DELIVERED_LINE
            + sender_invocations * (SENDER_EMF_LINE + PLATFORM_LINES),
        ),
        FunctionUsage(
            name="delivery_events",
            invocations=delivery_event_invocations,
            avg_billed_ms=40 + 0.5 * 1300,
            memory_mb=memory["DeliveryEventsFunction"],
            # its own lines, plus SNS's ~1 KB failure receipt per failed SMS in its log group
            log_bytes=delivery_event_invocations * (600 + 300 + PLATFORM_LINES) + sms_failures * 1000,
        ),
    )
    realtime_calls, realtime_monthly, on_subscribe = realtime_usage(feed, memory["RealtimeSubscribeFunction"])
    functions = (*functions, on_subscribe)
    share = {"DE": 0.70, "AT": 0.12, "CH": 0.10, "FR": 0.03, "IT": 0.02, "GB": 0.02, "US": 0.01}
    return CostInputs(
        changes=changes,
        measured_on="2026-11-25",
        functions=functions,
        calls={
            **realtime_calls,
            "dynamodb.BatchGetItem@settings": detector_invocations,
            # The sender's check, before each SMS and e-mail, that the contact is still wanted.
            "dynamodb.GetItem@settings": sms + emails,
            "dynamodb.PutItem@idempotency": notifications,
            "dynamodb.UpdateItem@idempotency": notifications,
            "dynamodb.UpdateItem@delivery_log": sms,
            "dynamodb.PutItem@delivery_log": sms + delivery_event_invocations,
            "dynamodb.GetItem@delivery_log": sms_failures,
            "dynamodb.PutItem@alerts_feed": feed,
            "sqs.SendMessageBatch": alerting,
            "sqs.SendMessage": 0.001 * changes,
            "sqs.ChangeMessageVisibility": 0.005 * notifications,
            "sqs.DeleteMessage": 100,
            "sns.Publish": sms,
            "sesv2.SendEmail": emails,
            # upper bound: one data key per failure event written under the customer managed key
            "kms.GenerateDataKey": delivery_event_invocations,
        },
        sqs_requests_polling=0,
        appointment_writes=changes,
        sms_by_country={iso: sms * segments_per_sms * part for iso, part in share.items()},
        emails=emails,
        avg_item_kb={
            "appointments": 0.6,
            "settings": 0.5,
            "idempotency": 0.4,
            "alerts_feed": 0.6,
            "delivery_log": 0.3,
        },
        xray_traces=default_sampled_traces(detector_invocations, active_seconds)
        + default_sampled_traces(sender_invocations, active_seconds)
        + default_sampled_traces(delivery_event_invocations, active_seconds),
        items_per_call={"dynamodb.BatchGetItem@settings": 1.8},
        changes_per_month=1_000_000,
        fixed_monthly={
            "cloudwatch.alarm": alarms,
            # EMF metrics by name (dimension: service): AlertsQueued, ChangesSilent, RecordsParked,
            # Delivered_sms/_email/_feed, SmsOverCap, NotificationsParked, DeliveryFailed_sms/_email
            "cloudwatch.custom_metric": 10,
            # AlarmTopicKey plus its first yearly rotation
            "kms.key_month": 2 * kms_keys,
            # DynamoDB's table keys under the AWS managed key: ~12 KMS calls an hour for each of the
            # five tables (rough; DynamoDB caches table keys, so calls follow time, not requests)
            "kms.request": 5 * 12 * 730,
            **realtime_monthly,
        },
        sms_segments_per_message=segments_per_sms,
    )


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


def _usd(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 0.01:
        return f"{value:.4f}"
    return f"{value:,.2f}"


def _quantity(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def _ratio(value: float) -> str:
    return f"{value:.5f}" if value < 1 else f"{value:,.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return out


def _verdict(ratio: float) -> str:
    return "goal met" if ratio <= GOAL else "goal missed"


def render_markdown(inputs: CostInputs, report: CostReport, capacity: CapacityInputs | None = None) -> str:
    """docs/cost-model.md for these inputs and this report, and the capacity model when its
    inputs are given; the same arguments give the same text."""
    scale = PER_MILLION_CHANGES / inputs.changes
    out: list[str] = [
        "_Generated by `python -m benchmarks.cost_model` (meant to run under `make bench`) from the "
        "inputs and prices in `benchmarks/cost_model.py`. Do not edit by hand: change those and "
        "regenerate._",
        "",
        "# Cost model: AWS infrastructure against the message bill",
        "",
        f"**infra_cost_ratio = {_ratio(report.ratio)}** (goal ≤ {GOAL}: {_verdict(report.ratio)}). "
        f"Per {PER_MILLION_CHANGES:,} appointment changes the AWS infrastructure costs "
        f"USD {_usd(report.infra_usd)}; the SMS and e-mails sent for them cost "
        f"USD {_usd(report.message_usd)}. Region {REGION}; list prices; free tiers not subtracted.",
        "",
        "## Inputs",
        "",
        f"Measured on {inputs.measured_on} over {inputs.changes:,} appointment changes "
        f"(scale factor {scale:g} to 1M). Time-based costs are spread over "
        f"{inputs.changes_per_month:,.0f} changes a month.",
        "",
    ]
    out += _table(
        ("function", "invocations", "modelled ms", "billed ms", "memory MB", "GB-s", "log bytes"),
        [
            (
                f.name,
                _quantity(f.invocations),
                f"{f.avg_billed_ms:g}",
                str(billed_ms(f.avg_billed_ms)),
                str(f.memory_mb),
                _quantity(gb_seconds(f)),
                _quantity(f.log_bytes),
            )
            for f in inputs.functions
        ],
    )
    out += ["", "AWS API calls per 1M changes:", ""]
    out += _table(
        ("call", "calls", "items per call"),
        [
            (key, _quantity(inputs.calls[key]), f"{inputs.items_per_call.get(key, 1.0):g}")
            for key in sorted(inputs.calls)
        ],
    )
    polling = (
        "modelled (0 given)" if inputs.sqs_requests_polling == 0 else _quantity(inputs.sqs_requests_polling)
    )
    out += [
        "",
        f"- SQS event-source polling requests: {polling}",
        f"- booking platform writes to the appointments table: {_quantity(inputs.appointment_writes)}",
        "- SMS segments by country: "
        + ", ".join(f"{iso} {_quantity(n)}" for iso, n in sorted(inputs.sms_by_country.items()))
        + f" ({inputs.sms_segments_per_message:g} segments per SMS)",
        f"- e-mails: {_quantity(inputs.emails)}",
        "- average item size (KB): "
        + ", ".join(f"{table} {kb:g}" for table, kb in sorted(inputs.avg_item_kb.items())),
        f"- X-Ray traces recorded: {_quantity(inputs.xray_traces)}",
        "- time-based quantities a month: "
        + (", ".join(f"{key} {_quantity(n)}" for key, n in sorted(inputs.fixed_monthly.items())) or "none"),
        "",
        "## Per-service breakdown",
        "",
    ]
    totals = service_totals(report)
    out += _table(
        ("service", "USD per 1M changes", "share of infra"),
        [
            (s, _usd(usd), f"{usd / report.infra_usd:.1%}" if report.infra_usd else "-")
            for s, usd in totals.items()
        ]
        + [("**infrastructure**", f"**{_usd(report.infra_usd)}**", "100%")],
    )
    out += ["", "Every line:", ""]
    out += _table(
        ("kind", "service", "item", "quantity", "unit", "USD per unit", "USD", "price"),
        [
            (
                line.kind,
                line.service,
                line.item,
                _quantity(line.quantity),
                line.unit,
                f"{line.unit_usd:.10g}",
                _usd(line.usd),
                f"`{line.price_key}`",
            )
            for line in report.lines
        ]
        + [
            ("infra", "", "**total**", "", "", "", f"**{_usd(report.infra_usd)}**", ""),
            ("message", "", "**total**", "", "", "", f"**{_usd(report.message_usd)}**", ""),
        ],
    )
    out += ["", *abuse_section(abuse_limits()), "## Prices", ""]
    unverified = [key for key, price in PRICES.items() if not price.verified]
    out += [
        f"{len(PRICES) - len(unverified)} of {len(PRICES)} prices were confirmed in the source named; "
        f"**{len(unverified)} are unverified** (marked ⚠ below): "
        + ", ".join(f"`{key}`" for key in unverified)
        + ".",
        "",
    ]
    out += _table(
        (
            "key",
            "service",
            "item",
            "as quoted",
            "USD per unit",
            "region",
            "as of",
            "verified",
            "source",
            "note",
        ),
        [
            (
                f"`{key}`",
                p.service,
                p.item,
                p.quoted,
                f"{p.usd:.10g} per {p.unit}",
                p.region,
                p.as_of,
                "yes" if p.verified else "⚠ **unverified**",
                p.source,
                p.note,
            )
            for key, p in PRICES.items()
        ],
    )
    out += ["", "## Assumptions", ""]
    out += [f"- {text}" for text in _assumptions(inputs)]
    out += ["", "## What moves the ratio", ""]
    out += _what_moves(inputs, report)
    if capacity is not None:
        from benchmarks.capacity import section  # noqa: PLC0415 - imports this module

        out += ["", *section(capacity)]
    return "\n".join(out).rstrip("\n") + "\n"


def _assumptions(inputs: CostInputs) -> list[str]:
    idle = IDLE_SQS_POLLERS * IDLE_RECEIVES_PER_POLLER_MINUTE * MINUTES_PER_MONTH
    return [
        *inputs.notes,
        f"AppSync Events (the pop-up): one publish per feed entry, each delivered to "
        f"{PAGES_PER_ALERT:g} open calendar pages on average, every publish and delivery one Event API "
        f"operation. Assumed, not measured: {OPEN_PAGES_PER_MILLION_CHANGES:,} calendar pages open "
        f"{OFFICE_MINUTES_PER_MONTH // 60} hours a month for 1M changes, each reconnecting "
        f"{RECONNECTS_PER_PAGE_HOUR:g} time an hour with a fresh token (a connect and a subscribe "
        "operation, one OnSubscribe invocation). Connection minutes and connects are time-based, "
        "spread like the alarms. Data transfer out is left out.",
        "Free tiers are not subtracted (Lambda, SQS, KMS, X-Ray and CloudWatch all have one); list "
        "prices, no Savings Plans, the first volume tier of every tiered price.",
        "Lambda: requests plus arm64 GB-seconds, GB-s = invocations x billed ms / 1000 x memory MB / 1024, "
        "billed ms = the modelled duration rounded up to a whole millisecond. The INIT phase of a cold "
        "start is billed (AWS standardised this on 2025-08-01, "
        "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/), so the "
        "modelled duration includes cold starts spread over all invocations.",
        f"CloudWatch Logs: the bytes each function writes (structured Powertools JSON lines and EMF "
        f"metric lines, sizes measured on the local runtime) plus Lambda's START, END and REPORT lines, "
        f"taken as {PLATFORM_LINES} bytes an invocation; 1 GB = 2^30 bytes. Storage (14 or 90 days "
        "retention) is left out.",
        "DynamoDB on demand: a write is 1 WRU per started KB of the item, a read 1 RRU per started 4 KB "
        "(every read in this code is strongly consistent; Query is sized on all items returned). TTL "
        "deletes are free; so are the stream reads of the detector's trigger. Storage, point-in-time "
        "recovery and backups are left out (they follow data kept, not changes).",
        "Encryption: the five tables set `SSEEnabled: true`, which CloudFormation documents as the AWS "
        "managed key (alias/aws/dynamodb, KMS charges apply), not the AWS owned key the template's "
        "comments name. DynamoDB caches table keys, so its KMS calls follow time, not requests; they "
        "are a rough time-based estimate. The queues use SSE-SQS (no KMS charge). The one customer "
        "managed key encrypts the alarm and delivery-events topics and the SMS receipt log group, which "
        "see only failures; its KMS calls are counted as one per failure event (an upper bound).",
        f"SQS FIFO: every request up to {SQS_CHUNK_KB} KB is one billed request; a SendMessageBatch of "
        "one change's notifications stays far below that. When polling is not measured it is modelled: "
        "one ReceiveMessage and one DeleteMessageBatch per sender invocation, plus "
        f"{IDLE_SQS_POLLERS} idle long-polling pollers x {IDLE_RECEIVES_PER_POLLER_MINUTE} receives a "
        f"minute = {idle:,} requests a month, spread over the monthly volume.",
        "X-Ray: Lambda's default sampling (the first request each second and 5% of the rest, per "
        "function) with invocations arriving at random over the active hours; every invocation "
        "starts its own trace (the sender's could continue the detector's, which would record fewer).",
        "Messages: SMS are billed per segment at the destination country's rate (the SNS publish "
        "itself is not charged); e-mails at SES's à la carte rate per recipient, one recipient each.",
        "Time-based costs (alarms, custom metrics, the customer managed key, DynamoDB's KMS calls, "
        f"idle SQS polls) are a month's worth spread over {inputs.changes_per_month:,.0f} changes.",
        "Not in the model: the settings API (API Gateway, its Lambda and the feed reads: they follow "
        "practitioners' clicks, not changes), data transfer (all within the region), NAT (no VPC), "
        "SNS/Lambda charges of the delivery-events topic (a few thousand publishes), and S3 for "
        "deployment artefacts.",
    ]


def _what_moves(inputs: CostInputs, report: CostReport) -> list[str]:
    email_only = email_only_message_usd(inputs)
    email_only_ratio = report.infra_usd / email_only if email_only else math.inf
    essentials = email_only_message_usd(inputs, "ses.outbound_essentials")
    cheaper_sms = report.infra_usd / (0.7 * _sms_usd(report) + _email_usd(report))
    out = [
        f"- **E-mail-only practices are the worst case.** With the same infrastructure cost but every "
        f"SMS replaced by an e-mail ({_quantity(inputs.emails + sms_messages(inputs))} e-mails), the "
        f"message bill is USD {_usd(email_only)} and the ratio **{_ratio(email_only_ratio)}** "
        f"({_verdict(email_only_ratio)}). An e-mail costs about a thousandth of an SMS, so where no SMS "
        "is sent the infrastructure is the bill. On SES's Essentials plan (new accounts since "
        f"2026-07-21) the e-mail-only ratio is {_ratio(report.infra_usd / essentials)}.",
        "- **SMS prices.** Almost the whole message bill is SMS, and the SMS prices are unverified: "
        f"were they 30% lower, the ratio would be {_ratio(cheaper_sms)}.",
        "- **Volume.** Alarms, custom metrics, the customer managed key and idle SQS polls cost the same "
        "every month, so a small deployment pays more per change (only these time-based costs are "
        "re-spread below; the per-change quantities stay as given, although at higher volume batches "
        "grow and X-Ray samples a smaller share):",
        "",
    ]
    rows = []
    for monthly in (100_000, 1_000_000, 10_000_000):
        scaled = estimate(replace(inputs, changes_per_month=monthly))
        rows.append(
            (
                f"{monthly:,}",
                _usd(scaled.infra_usd),
                _ratio(scaled.ratio),
                _ratio(scaled.infra_usd / email_only if email_only else math.inf),
            )
        )
    out += _table(("changes a month", "infra USD per 1M changes", "ratio", "ratio, e-mail only"), rows)
    totals = service_totals(report)
    top = list(totals.items())[:3]
    out += [
        "",
        "- **Largest infrastructure lines:** "
        + ", ".join(f"{service} USD {_usd(usd)}" for service, usd in top)
        + ". Custom metrics and alarms are a fixed monthly sum (see Volume). X-Ray records most "
        "invocations at this traffic (the one-per-second reservoir is rarely full); a sampling rule "
        "with a smaller reservoir, or tracing only the sender, cuts it. "
        "Fewer, larger detector batches (more records per invocation) cut Lambda requests, BatchGetItem "
        "calls, EMF and REPORT lines and traces together.",
        "- **Silent changes still cost.** Every change is a stream record, a detector log line and part "
        "of a batch; the share of changes that alert moves the message bill but barely the "
        "infrastructure bill.",
    ]
    return out


def _sms_usd(report: CostReport) -> float:
    return sum(line.usd for line in report.lines if line.price_key.startswith("sms."))


def _email_usd(report: CostReport) -> float:
    return sum(
        line.usd for line in report.lines if line.kind == "message" and not line.price_key.startswith("sms.")
    )


def write_doc(
    inputs: CostInputs,
    report: CostReport,
    path: Path = Path("docs/cost-model.md"),
    capacity: CapacityInputs | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_markdown(inputs, report, capacity).encode("utf-8"))


def format_table(report: CostReport) -> str:
    """The per-service totals and the ratio as plain text, for the terminal."""
    rows = [f"{'service':<20}{'USD per 1M changes':>20}"]
    rows += [f"{service:<20}{usd:>20,.4f}" for service, usd in service_totals(report).items()]
    rows += [
        f"{'infrastructure':<20}{report.infra_usd:>20,.4f}",
        f"{'messages':<20}{report.message_usd:>20,.2f}",
        f"infra_cost_ratio {report.ratio:.5f} (goal <= {GOAL}: {_verdict(report.ratio)})",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_DOC, help="where the doc goes")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-write", action="store_true", help="print the table only")
    mode.add_argument("--check", action="store_true", help="exit 1 if the doc is not up to date")
    args = parser.parse_args(argv)
    from benchmarks.capacity import inputs_in  # noqa: PLC0415 - imports this module

    inputs = example_inputs()
    report = estimate(inputs)
    print(format_table(report))
    current = args.output.read_text("utf-8") if args.output.is_file() else ""
    # The capacity section's inputs are measured by `make bench`; the doc carries them.
    capacity = inputs_in(current)
    if args.check:
        if current != render_markdown(inputs, report, capacity):
            print(f"{args.output} is stale: run python -m benchmarks.cost_model")
            return 1
        return 0
    if not args.no_write:
        write_doc(inputs, report, args.output, capacity)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
