"""AppSync Events: publish to a channel over HTTP, signed with the function's role (SigV4).

There is no boto3 client for the Event API's data plane, so the request is built by hand and
signed by botocore's ``SigV4Auth`` (service ``appsync``), then sent with urllib3, which the Lambda
runtime ships with botocore. Time-outs are short: a push is a courtesy on top of the feed entry,
which is already written, and must never hold up the SMS and e-mails of the same batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from practitioner_alerts.errors import PermanentError, TransientError

if TYPE_CHECKING:
    from botocore.credentials import Credentials

# AppSync Events takes at most five events per publish request.
MAX_EVENTS_PER_REQUEST = 5
_TIMEOUT = urllib3.Timeout(connect=1.0, read=2.0)
# 400: the request itself is wrong; 401/403: the role may not publish there. Neither heals.
_PERMANENT_STATUSES = frozenset({400, 401, 403, 404})


class EventPublisher:
    def __init__(
        self,
        publish_url: str,
        region: str,
        credentials: Credentials,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = publish_url
        self._region = region
        self._credentials = credentials
        # No retries here: a lost push is caught up from the feed by the page, and a retry after
        # a read time-out could only deliver the same pop-up twice.
        self._http = http or urllib3.PoolManager(timeout=_TIMEOUT, retries=False)

    def publish(self, channel: str, events: Sequence[str]) -> None:
        """Publish ``events`` (each a JSON document as a string) to ``channel``; raises unless
        AppSync accepted every one of them."""
        if not 1 <= len(events) <= MAX_EVENTS_PER_REQUEST:
            raise PermanentError(
                f"appsync.Publish: {len(events)} events; 1 to {MAX_EVENTS_PER_REQUEST} allowed"
            )
        body = json.dumps({"channel": channel, "events": list(events)}).encode("utf-8")
        request = AWSRequest(
            method="POST", url=self._url, data=body, headers={"content-type": "application/json"}
        )
        SigV4Auth(self._credentials.get_frozen_credentials(), "appsync", self._region).add_auth(request)
        try:
            response = self._http.request("POST", self._url, body=body, headers=dict(request.headers.items()))
        except urllib3.exceptions.HTTPError as error:
            # Connection refused or reset, DNS, time-outs.
            raise TransientError(f"appsync.Publish: {type(error).__name__}") from error
        _raise_unless_all_accepted(response.status, response.data, len(events))


def _raise_unless_all_accepted(status: int, data: bytes, sent: int) -> None:
    if status in _PERMANENT_STATUSES:
        raise PermanentError(f"appsync.Publish: HTTP {status}")
    if status != 200:
        raise TransientError(f"appsync.Publish: HTTP {status}")
    try:
        answer: Any = json.loads(data)
    except ValueError as error:
        raise TransientError("appsync.Publish: the answer is not JSON") from error
    failed = answer.get("failed") if isinstance(answer, dict) else None
    successful = answer.get("successful") if isinstance(answer, dict) else None
    if failed:
        codes = sorted({str(entry.get("code", "?")) for entry in failed if isinstance(entry, dict)})
        raise TransientError(f"appsync.Publish: {len(failed)} of {sent} events failed ({', '.join(codes)})")
    if not isinstance(successful, list) or len(successful) != sent:
        raise TransientError("appsync.Publish: the answer does not confirm every event")
