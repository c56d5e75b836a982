"""The SQS FIFO event source mapping, as Lambda runs it, on moto's queue."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from practitioner_alerts_local.filters import FilterCriteria
from practitioner_alerts_local.runtime import LocalRuntime
from practitioner_alerts_local.triggers import QueuePoller
from tests.local.conftest import ScriptedFunction, drain_queue


def queue_poller(runtime: LocalRuntime, function: ScriptedFunction, **settings: Any) -> QueuePoller:
    config = replace(runtime.stack.queue_mappings()[0], **settings)
    return QueuePoller(config, function, runtime.clients)  # type: ignore[arg-type]


def send(runtime: LocalRuntime, body: dict[str, Any], group: str, dedup: str) -> None:
    runtime.clients("sqs").send_message(
        QueueUrl=runtime.stack.attribute("NotificationQueue", "QueueUrl"),
        MessageBody=json.dumps(body),
        MessageGroupId=group,
        MessageDeduplicationId=dedup,
        MessageAttributes={"channel": {"DataType": "String", "StringValue": "sms"}},
    )


def bodies(batch: list[dict[str, Any]]) -> list[str]:
    return [json.loads(record["body"])["n"] for record in batch]


def fail_bodies(*names: str) -> Any:
    def outcome(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in records if json.loads(r["body"])["n"] in names
            ]
        }

    return outcome


def queue_depth(runtime: LocalRuntime, logical_id: str) -> int:
    attributes = runtime.clients("sqs").get_queue_attributes(
        QueueUrl=runtime.stack.attribute(logical_id, "QueueUrl"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_the_template_mapping_is_what_the_runtime_emulates(runtime: LocalRuntime) -> None:
    (mapping,) = runtime.stack.queue_mappings()
    assert mapping.function == "SenderFunction" and mapping.fifo
    queue = runtime.stack.template.properties("NotificationQueue")
    event = runtime.stack.template.function_events("SenderFunction", "SQS")["NotificationQueueEvent"]
    assert mapping.batch_size == event["BatchSize"] and mapping.report_batch_item_failures
    assert mapping.visibility_timeout_seconds == queue["VisibilityTimeout"]
    assert mapping.max_receive_count == queue["RedrivePolicy"]["maxReceiveCount"]
    assert mapping.dead_letter_queue_url == runtime.stack.attribute("NotificationDeadLetterQueue", "QueueUrl")


def test_records_carry_lambdas_sqs_event_fields(runtime: LocalRuntime) -> None:
    function = ScriptedFunction()
    send(runtime, {"n": "a"}, group="apt-1", dedup="a")

    drain_queue(queue_poller(runtime, function))

    (record,) = function.batches[0]
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "eu-central-1"
    assert record["eventSourceARN"] == runtime.stack.attribute("NotificationQueue", "Arn")
    assert {"messageId", "receiptHandle", "body", "md5OfBody"} <= set(record)
    attributes = record["attributes"]
    assert attributes["MessageGroupId"] == "apt-1" and attributes["MessageDeduplicationId"] == "a"
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "SequenceNumber",
    } <= set(attributes)
    assert record["messageAttributes"]["channel"]["stringValue"] == "sms"
    assert record["messageAttributes"]["channel"]["dataType"] == "String"


def test_batch_size_limits_a_batch(runtime: LocalRuntime) -> None:
    function = ScriptedFunction()
    for index in range(5):
        send(runtime, {"n": str(index)}, group=f"apt-{index}", dedup=str(index))

    drain_queue(queue_poller(runtime, function, batch_size=2))

    assert [len(batch) for batch in function.batches] == [2, 2, 1]


def test_partial_failure_deletes_the_succeeded_messages_and_keeps_the_failed_one(
    runtime: LocalRuntime,
) -> None:
    function = ScriptedFunction(script=[fail_bodies("b")])
    send(runtime, {"n": "a"}, group="apt-1", dedup="a")
    send(runtime, {"n": "b"}, group="apt-2", dedup="b")
    send(runtime, {"n": "c"}, group="apt-3", dedup="c")
    poller = queue_poller(runtime, function)

    poller.poll(drain=True)

    assert sorted(bodies(function.batches[0])) == ["a", "b", "c"]
    assert queue_depth(runtime, "NotificationQueue") == 1  # only b is left, in flight
    # b comes back (here at once: drain mode ends its visibility timeout), a and c never do.
    drain_queue(poller)
    assert [bodies(batch) for batch in function.batches[1:]] == [["b"]]
    assert function.batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert queue_depth(runtime, "NotificationQueue") == 0


def test_a_message_that_keeps_failing_goes_to_the_dead_letter_queue_after_max_receive_count(
    runtime: LocalRuntime,
) -> None:
    function = ScriptedFunction(default=fail_bodies("poison"))
    send(runtime, {"n": "poison"}, group="apt-1", dedup="poison")

    drain_queue(queue_poller(runtime, function))

    assert len(function.batches) == runtime.stack.queue_mappings()[0].max_receive_count
    assert queue_depth(runtime, "NotificationQueue") == 0
    assert queue_depth(runtime, "NotificationDeadLetterQueue") == 1
    (dead,) = runtime.report().dead_letters
    assert dead["source"] == "sqs-redrive" and dead["payload"] == {"n": "poison"}


def test_fifo_never_hands_out_a_group_whose_earlier_message_is_in_flight(runtime: LocalRuntime) -> None:
    # apt-1's first message fails; its second must not be delivered before the first succeeds.
    function = ScriptedFunction(script=[fail_bodies("first")])
    send(runtime, {"n": "first"}, group="apt-1", dedup="first")
    send(runtime, {"n": "second"}, group="apt-1", dedup="second")
    send(runtime, {"n": "other"}, group="apt-2", dedup="other")

    drain_queue(queue_poller(runtime, function, batch_size=1))

    delivered = [name for batch in function.batches for name in bodies(batch)]
    assert delivered.index("first", 1) < delivered.index("second")


def test_filtered_out_messages_are_deleted_without_an_invocation(runtime: LocalRuntime) -> None:
    function = ScriptedFunction()
    not_skipped = FilterCriteria.from_template(
        {"Filters": [{"Pattern": json.dumps({"body": {"n": [{"anything-but": "skip"}]}})}]}
    )
    send(runtime, {"n": "keep"}, group="apt-1", dedup="keep")
    send(runtime, {"n": "skip"}, group="apt-2", dedup="skip")

    drain_queue(queue_poller(runtime, function, filters=not_skipped))

    assert [bodies(batch) for batch in function.batches] == [["keep"]]
    assert queue_depth(runtime, "NotificationQueue") == 0
