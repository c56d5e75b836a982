"""The DynamoDB stream event source mapping, as Lambda runs it, on moto's stream."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders

from practitioner_alerts_local.filters import FilterCriteria
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.triggers import StreamPoller
from tests.local.conftest import (
    ScriptedFunction,
    appointment_ids,
    drain_stream,
    sample_calendars,
    sequence_numbers,
    write_bookings,
)


def stream_poller(runtime: LocalRuntime, function: ScriptedFunction, **settings: Any) -> StreamPoller:
    config = replace(runtime.stack.stream_mappings()[0], **settings)
    return StreamPoller(config, function, runtime.clients)  # type: ignore[arg-type]


def fail_records(*appointment_ids_to_fail: str) -> Any:
    def outcome(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                for r in records
                if r["dynamodb"]["Keys"]["appointment_id"]["S"] in appointment_ids_to_fail
            ]
        }

    return outcome


def raise_if_batch_has(appointment_id: str) -> Any:
    def outcome(records: list[dict[str, Any]]) -> dict[str, Any]:
        if appointment_id in appointment_ids(records):
            raise RuntimeError("function crashed")
        return {"batchItemFailures": []}

    return outcome


def on_failure_records(runtime: LocalRuntime) -> list[dict[str, Any]]:
    url = runtime.stack.stream_mappings()[0].on_failure_queue_url
    messages = runtime.clients("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_the_template_mapping_is_what_the_runtime_emulates(runtime: LocalRuntime) -> None:
    (mapping,) = runtime.stack.stream_mappings()
    assert mapping.function == "DetectorFunction"
    assert mapping.table == "AppointmentsTable"
    assert mapping.bisect_on_error and mapping.report_batch_item_failures
    event = runtime.stack.template.function_events("DetectorFunction", "DynamoDB")["AppointmentStream"]
    assert mapping.batch_size == event["BatchSize"]
    assert mapping.maximum_retry_attempts == event["MaximumRetryAttempts"]
    assert mapping.on_failure_queue_url == runtime.stack.attribute("StreamDeadLetterQueue", "QueueUrl")


def test_records_are_delivered_exactly_as_lambda_builds_them(runtime: LocalRuntime) -> None:
    function = ScriptedFunction()
    write_bookings(runtime, "apt-1")

    drain_stream(stream_poller(runtime, function))

    (record,) = function.batches[0]
    assert set(record) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert record["eventSource"] == "aws:dynamodb" and record["eventVersion"] == "1.1"
    assert record["awsRegion"] == "eu-central-1"
    assert record["eventSourceARN"] == runtime.stack.attribute("AppointmentsTable", "StreamArn")
    assert set(record["dynamodb"]) == {
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    json.dumps(record)  # what Lambda hands over is plain JSON


def test_batch_size_splits_the_stream_into_batches(runtime: LocalRuntime) -> None:
    function = ScriptedFunction()
    write_bookings(runtime, "apt-1", "apt-2", "apt-3", "apt-4", "apt-5")

    drain_stream(stream_poller(runtime, function, batch_size=2))

    assert [appointment_ids(batch) for batch in function.batches] == [
        ["apt-1", "apt-2"],
        ["apt-3", "apt-4"],
        ["apt-5"],
    ]


def test_filter_criteria_drop_records_that_do_not_match(runtime: LocalRuntime) -> None:
    function = ScriptedFunction()
    only_weber = FilterCriteria.from_template(
        {
            "Filters": [
                {
                    "Pattern": json.dumps(
                        {"dynamodb": {"NewImage": {"calendar_id": {"S": [{"prefix": "cal-dr-w"}]}}}}
                    )
                }
            ]
        }
    )
    write_bookings(runtime, "apt-1", calendar_id="cal-dr-weber")
    write_bookings(runtime, "apt-2", calendar_id="cal-dr-hughes")
    write_bookings(runtime, "apt-3", calendar_id="cal-dr-weber")

    drain_stream(stream_poller(runtime, function, filters=only_weber))

    assert [appointment_ids(batch) for batch in function.batches] == [["apt-1", "apt-3"]]


def test_partial_failure_checkpoints_at_the_lowest_failed_record_and_redelivers_from_there(
    runtime: LocalRuntime,
) -> None:
    # The function reports apt-3 and apt-5 failed; apt-1 and apt-2 are done and never come again.
    function = ScriptedFunction(script=[fail_records("apt-3", "apt-5")])
    write_bookings(runtime, "apt-1", "apt-2", "apt-3", "apt-4", "apt-5")

    drain_stream(stream_poller(runtime, function))

    first, retry = function.batches
    assert appointment_ids(first) == ["apt-1", "apt-2", "apt-3", "apt-4", "apt-5"]
    assert appointment_ids(retry) == ["apt-3", "apt-4", "apt-5"]
    assert sequence_numbers(retry) == sequence_numbers(first)[2:]


def test_a_function_error_with_bisect_splits_the_batch_in_halves(runtime: LocalRuntime) -> None:
    function = ScriptedFunction(default=raise_if_batch_has("apt-2"))
    write_bookings(runtime, "apt-1", "apt-2", "apt-3", "apt-4")

    drain_stream(stream_poller(runtime, function, maximum_retry_attempts=1))

    assert [appointment_ids(batch) for batch in function.batches] == [
        ["apt-1", "apt-2", "apt-3", "apt-4"],
        ["apt-1", "apt-2"],  # first half, still failing
        ["apt-1"],
        ["apt-2"],  # cannot be split: retried once (MaximumRetryAttempts 1), then given up
        ["apt-2"],
        ["apt-3", "apt-4"],  # second half, goes through
    ]
    (failure,) = on_failure_records(runtime)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


def test_exhausted_retries_send_lambdas_on_failure_record_and_move_on(runtime: LocalRuntime) -> None:
    function = ScriptedFunction(default=raise_if_batch_has("apt-1"))
    write_bookings(runtime, "apt-1", "apt-2")
    write_bookings(runtime, "apt-3")

    poller = stream_poller(runtime, function, bisect_on_error=False, maximum_retry_attempts=2, batch_size=2)
    drain_stream(poller)

    # One attempt plus two retries of [apt-1, apt-2], then the mapping moves on to apt-3.
    assert [appointment_ids(batch) for batch in function.batches] == [["apt-1", "apt-2"]] * 3 + [["apt-3"]]
    (failure,) = on_failure_records(runtime)
    first_two = function.batches[0]
    assert failure["version"] == "1.0" and failure["timestamp"].endswith("Z")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"] == function.arn
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == first_two[0]["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == first_two[1]["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == runtime.stack.attribute("AppointmentsTable", "StreamArn")
    assert info["shardId"].startswith("shardId-")
    assert {"approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"} <= set(info)


def test_an_unknown_item_identifier_fails_the_whole_batch(runtime: LocalRuntime) -> None:
    function = ScriptedFunction(
        script=[lambda records: {"batchItemFailures": [{"itemIdentifier": "nonsense"}]}]
    )
    write_bookings(runtime, "apt-1", "apt-2")

    drain_stream(stream_poller(runtime, function, bisect_on_error=False))

    assert [appointment_ids(batch) for batch in function.batches] == [["apt-1", "apt-2"], ["apt-1", "apt-2"]]


def test_records_older_than_the_maximum_age_go_to_the_on_failure_destination(runtime: LocalRuntime) -> None:
    function = ScriptedFunction(default=raise_if_batch_has("apt-1"))
    write_bookings(runtime, "apt-1")
    later = [0.0]
    config = replace(
        runtime.stack.stream_mappings()[0], maximum_record_age_seconds=60, maximum_retry_attempts=-1
    )
    poller = StreamPoller(config, function, runtime.clients, clock=lambda: later[0])  # type: ignore[arg-type]
    poller.read_shard()
    later[0] = time.time() + 61  # the first attempt happens when the record is already 61 s old

    drain_stream(poller)

    assert function.batches == []
    (failure,) = on_failure_records(runtime)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"


def test_end_to_end_a_booking_the_detector_cannot_queue_for_an_hour_is_parked_and_the_next_goes_on() -> None:
    # The real detector behind the template's mapping (-1 retries, 3600 s record age). SQS
    # throttles every queueing while the stream's clock moves 20 minutes per attempt: after the
    # hour, Lambda gives the record to the on-failure destination; the next write goes out.
    stream_time = [time.time()]
    hour_over = stream_time[0] + 3600 + 1

    def throttle_for_an_hour(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if stream_time[0] >= hour_over:
            return None
        stream_time[0] += 1200
        parsed = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        return AWSResponse("https://sqs.invalid", 400, HTTPHeaders(), None), {
            **parsed,
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    with LocalRuntime.embedded(stream_clock=lambda: stream_time[0]) as runtime:
        runtime.put_calendars(sample_calendars())
        events = boto3._get_default_session().events
        events.register(
            "before-call.sqs.SendMessageBatch", throttle_for_an_hour, unique_id="hour-of-throttling"
        )
        try:
            write_bookings(runtime, "apt-stuck")
            runtime.drain()
            write_bookings(runtime, "apt-next")
            runtime.drain()
        finally:
            events.unregister("before-call.sqs.SendMessageBatch", unique_id="hour-of-throttling")
        failures = on_failure_records(runtime)
        sent = runtime.report().sent

    (failure,) = failures
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert {m.appointment_id for m in sent} == {"apt-next"}
