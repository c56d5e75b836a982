"""SNS: text messages straight to a mobile number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from practitioner_alerts.adapters.aws_errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

# Publish's own codes (botocore's model; a test checks). An invalid number will never accept the
# message, and retrying only burns money. (An opted-out number is not an error of Publish: SNS
# accepts the message and drops it; the delivery-status log says so.)
_PERMANENT = frozenset({"InvalidParameter", "ParameterValueInvalid"})
# The account or its keys, not the number.
_OPERATOR = frozenset(
    {
        "AuthorizationError",
        "InvalidSecurity",
        "KMSAccessDenied",
        "KMSDisabled",
        "KMSInvalidState",
        "KMSNotFound",
        "KMSOptInRequired",
    }
)


class SmsGateway:
    def __init__(self, client: SNSClient, sender_id: str) -> None:
        self._client = client
        self._sender_id = sender_id

    def send(self, to: str, text: str) -> str:
        """Publish one transactional SMS and return SNS's message id."""
        with aws_call("sns.Publish", permanent_codes=_PERMANENT, operator_codes=_OPERATOR):
            response = self._client.publish(
                PhoneNumber=to,
                Message=text,
                MessageAttributes={
                    # Transactional messages are routed for reliability rather than cost.
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
                },
            )
        return response["MessageId"]
