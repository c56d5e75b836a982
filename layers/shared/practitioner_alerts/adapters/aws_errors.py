"""How the adapters tell a retryable AWS failure from a permanent one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from practitioner_alerts.errors import OperatorError, PermanentError, TransientError

# Codes that mean "try again later", as the service models of the operations we call name them
# (a test checks each against botocore's models).
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",  # DynamoDB
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "TransactionConflictException",
        "InternalError",  # SNS
        "KMSThrottling",
        "TooManyRequestsException",  # SES
        "LimitExceededException",
        "SendingPausedException",
        "RequestThrottled",  # SQS
        "KmsThrottled",
    }
)
# Codes every AWS API may return and no operation's model lists (each service's API reference,
# "Common Errors"; SNS, an older query API, says "Throttling").
COMMON_RETRYABLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "InternalFailure", "ServiceUnavailable"}
)
# The deployment, not the request, is wrong: missing permissions or credentials.
COMMON_OPERATOR_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "NotAuthorized", "UnrecognizedClientException"}
)


def error_code(error: ClientError) -> str:
    """The code as the service model names it. SQS speaks JSON but also sends the code of its
    older query API (``AWS.SimpleQueueService.BatchRequestTooLong``), which botocore prefers."""
    code = str(error.response.get("Error", {}).get("Code", "Unknown"))
    return code.removeprefix("AWS.SimpleQueueService.")


@contextmanager
def aws_call(
    operation: str,
    permanent_codes: frozenset[str] = frozenset(),
    operator_codes: frozenset[str] = frozenset(),
) -> Iterator[None]:
    """Translate botocore failures of ``operation`` into transient, operator or permanent errors.

    Only codes listed as permanent park a message; anything unknown is retried, because a
    wrongly parked alert is lost to the practitioner while a wrongly retried one is only late.
    """
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in permanent_codes:
            raise PermanentError(f"{operation}: {code}", code=code) from error
        if code in operator_codes or code in COMMON_OPERATOR_CODES:
            raise OperatorError(f"{operation}: {code}", code=code) from error
        if code in RETRYABLE_CODES or code in COMMON_RETRYABLE_CODES or status >= 500:
            raise TransientError(f"{operation}: {code}", code=code) from error
        raise TransientError(f"{operation}: {code} (unexpected, retried)", code=code) from error
    except BotoCoreError as error:
        # Connection resets, read time-outs and the like.
        raise TransientError(f"{operation}: {type(error).__name__}") from error
