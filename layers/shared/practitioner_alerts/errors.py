"""The project's own failure vocabulary.

Adapters translate botocore errors into these, so nothing outside ``adapters`` knows botocore
exists. The distinction drives the batch semantics: a transient error makes only its record or
message retry; a permanent one parks it in a dead-letter queue with its reason so it never
blocks a shard or retries forever.
"""


class AlertError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # The AWS error code behind it, for the few callers that react to one in particular.
        self.code = code


class TransientError(AlertError):
    """Worth retrying: throttling, 5xx, time-outs, partial batch failures."""


class OperatorError(TransientError):
    """The deployment is wrong, not the request: a missing SES configuration set or identity, a
    permission the role lacks. Retried, because the alert goes out once an operator fixes it;
    alarmed, and never shown to the practitioner as a failure of their contact."""


class PermanentError(AlertError):
    """Retrying cannot help: a malformed record, an invalid number, a rejected e-mail."""


class MalformedRecord(PermanentError):
    """A stream record or queue message that does not follow the contract."""
