"""SES: alert e-mails from the verified sender, through the configuration set.

The message goes as raw MIME built by the standard library: it carries the plain-text and HTML
parts together, and ``EmailMessage`` refuses a header containing CR or LF, so nothing in a
subject can smuggle in another header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from typing import TYPE_CHECKING

from practitioner_alerts.adapters.aws_errors import aws_call
from practitioner_alerts.domain.notifications import address_problem
from practitioner_alerts.errors import PermanentError
from practitioner_alerts.rendering import Email

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# Written out with RFC 5322's hard line limit of 998: the default policy folds headers at 78
# characters, and a folded non-ASCII subject came back from mail clients with a doubled space
# where it was folded ("12:00  – Dr. Anna Weber"). A subject is under 300 characters even
# encoded, so it is never folded. The parts are still encoded under the default policy when set
# (quoted-printable lines of 76), so only the headers are written differently.
_WRITTEN_WITH = SMTP.clone(max_line_length=998)

# SendEmail's own codes (botocore's model; a test checks). Rejected content or a bad address
# stays bad; the practitioner has to fix the address.
_PERMANENT = frozenset({"MessageRejected", "BadRequestException"})
# The sending account, not the address: a configuration set or MAIL FROM domain that does not
# exist or is not verified, a suspended account. An operator's to fix, and then the alert goes.
_OPERATOR = frozenset(
    {"NotFoundException", "MailFromDomainNotVerifiedException", "AccountSuspendedException"}
)


class EmailGateway:
    def __init__(self, client: SESV2Client, sender: str, configuration_set: str | None) -> None:
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, to: str, email: Email, tags: Mapping[str, str] | None = None) -> str:
        """Send one e-mail and return SES's message id.

        ``tags`` come back in the configuration set's bounce and complaint events, which is how
        a bounce finds its way to the calendar's delivery log.
        """
        # Refused here, not by SES or the MIME library: both would fail it the same way on every
        # retry, and the library's ValueError is none of ours, so it would be retried until the
        # dead-letter queue instead of parked, and never shown to the practitioner.
        if problem := address_problem("email", to):
            raise PermanentError(
                f"sesv2.SendEmail: invalid_address: the address {problem}", code="InvalidAddress"
            )
        message = EmailMessage()
        try:
            message["From"] = self._sender
            message["To"] = to
            message["Subject"] = email.subject
        except ValueError as error:
            # Rendering cleans subjects of line breaks, so only a bug gets here; the type only, as
            # the message may quote the header.
            raise PermanentError(
                f"sesv2.SendEmail: unsendable_header ({type(error).__name__})", code="UnsendableHeader"
            ) from error
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        request: dict[str, object] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": message.as_bytes(policy=_WRITTEN_WITH)}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        if tags:
            request["EmailTags"] = [
                {"Name": name, "Value": _tag_value(value)} for name, value in tags.items()
            ]
        with aws_call("sesv2.SendEmail", permanent_codes=_PERMANENT, operator_codes=_OPERATOR):
            response = self._client.send_email(**request)  # type: ignore[arg-type]
        return response["MessageId"]


def _tag_value(value: str) -> str:
    # SES accepts only ASCII letters, digits, underscores and dashes in tag values.
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:256] or "_"
