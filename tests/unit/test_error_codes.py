"""Every AWS error code an adapter classifies is one the operation can really return.

A code that does not exist silently falls through to "unexpected, retried": that is how an
invalid number (SNS says ``ParameterValueInvalid``, not ``InvalidParameterValue``) was retried
for half an hour. The source of truth is the service model botocore ships.
"""

from __future__ import annotations

from functools import cache

import botocore.session
import pytest
from botocore.exceptions import ClientError

from practitioner_alerts.adapters import aws_errors, ses, sns, sqs
from practitioner_alerts.errors import TransientError

# The operations our adapters call, by service.
CALLED = {
    "sns": ["Publish"],
    "sesv2": ["SendEmail"],
    "sqs": ["SendMessageBatch", "SendMessage", "ChangeMessageVisibility", "DeleteMessage"],
    "dynamodb": ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "Query", "DeleteItem"],
}


@cache
def codes_of(service: str, operation: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(shape.error_code for shape in model.operation_model(operation).error_shapes)


@pytest.mark.parametrize(
    ("service", "operation", "classified"),
    [
        ("sns", "Publish", sns._PERMANENT | sns._OPERATOR),
        ("sesv2", "SendEmail", ses._PERMANENT | ses._OPERATOR),
        ("sqs", "SendMessageBatch", sqs._TOO_LARGE),
    ],
    ids=["sns.Publish", "sesv2.SendEmail", "sqs.SendMessageBatch"],
)
def test_each_code_an_adapter_names_is_in_the_operations_model(
    service: str, operation: str, classified: frozenset[str]
) -> None:
    assert classified - codes_of(service, operation) == set()


def test_each_retryable_code_is_returned_by_an_operation_we_call() -> None:
    known = set().union(*(codes_of(service, op) for service, ops in CALLED.items() for op in ops))
    assert aws_errors.RETRYABLE_CODES - known == set()


def test_a_failure_without_an_error_code_is_retried_saying_the_code_is_unknown() -> None:
    # A proxy's or a load balancer's reply, not the service's: no "Error" in it at all.
    with pytest.raises(TransientError) as raised, aws_errors.aws_call("dynamodb.PutItem"):
        raise ClientError({"ResponseMetadata": {"HTTPStatusCode": 502}}, "PutItem")
    assert (raised.value.reason, raised.value.code) == ("dynamodb.PutItem: Unknown", "Unknown")
    with pytest.raises(TransientError) as raised, aws_errors.aws_call("sns.Publish"):
        raise ClientError({"Error": {"Message": "Bad Request"}}, "Publish")
    assert raised.value.reason == "sns.Publish: Unknown (unexpected, retried)"
