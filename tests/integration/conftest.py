"""Adapters against moto: the AWS APIs' own behaviour (FIFO deduplication, batch gets, MIME)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.dynamodb_local import engine

REGION = "eu-central-1"


@pytest.fixture(params=["moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)])
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every adapter test runs twice: on moto, and with DynamoDB on AWS's own DynamoDB Local.

    Where the two disagree, DynamoDB Local is the truth. SQS, SNS and SES stay on moto either
    way; moto lets requests for the local engine's loopback endpoint through.
    """
    with mock_aws():
        if request.param == "moto":
            yield
            return
        url: str = request.getfixturevalue("dynamodb_local")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        try:
            yield
        finally:
            engine.drop_all_tables(url)


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def make_table(name: str, *keys: str) -> None:
    schema = [{"AttributeName": keys[0], "KeyType": "HASH"}]
    if len(keys) > 1:
        schema.append({"AttributeName": keys[1], "KeyType": "RANGE"})
    client("dynamodb").create_table(
        TableName=name,
        KeySchema=schema,  # type: ignore[arg-type]
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
        BillingMode="PAY_PER_REQUEST",
    )


def make_fifo_queue(name: str) -> str:
    url: str = client("sqs").create_queue(
        QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    return url


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    sqs = client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", []):
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages
