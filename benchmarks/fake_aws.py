"""In-memory stand-ins for the boto3 clients, so that a benchmark times our code and not moto.

The production adapters run unchanged on top of them; every call succeeds at once and is
remembered, so a benchmark can also see what would have gone to AWS.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError


class _ConditionalCheckFailed(ClientError):
    pass


class FakeAwsClient:
    """Any boto3 client: answers every operation with a plausible success.

    Two operations keep state, so that what depends on it behaves as on AWS: GetItem and
    BatchGetItem answer from ``tables``, and the one counter update the code makes (``ADD sent``
    with its ``sent <= :room`` condition, the SMS cap) adds up and refuses once full.
    """

    def __init__(self, tables: Mapping[str, Mapping[str, dict[str, Any]]] | None = None) -> None:
        # table name -> partition key value -> item, for GetItem and BatchGetItem
        self._tables = tables or {}
        self._ids = itertools.count(1)
        self._counters: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.exceptions = SimpleNamespace(ConditionalCheckFailedException=_ConditionalCheckFailed)

    def _record(self, operation: str, params: dict[str, Any]) -> None:
        self.calls[operation] += 1
        self.requests.append((operation, params))

    def get_item(self, **params: Any) -> dict[str, Any]:
        self._record("GetItem", params)
        key = next(iter(params["Key"].values()))["S"]
        item = self._tables.get(params["TableName"], {}).get(key)
        return {"Item": item} if item is not None else {}

    def update_item(self, **params: Any) -> dict[str, Any]:
        self._record("UpdateItem", params)
        if str(params.get("UpdateExpression", "")).startswith("ADD sent :segments"):
            values = params["ExpressionAttributeValues"]
            counter = repr(sorted((name, value["S"]) for name, value in params["Key"].items()))
            if self._counters[counter] > int(values[":room"]["N"]):
                error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "full"}}
                raise _ConditionalCheckFailed(error, "UpdateItem")
            self._counters[counter] += int(values[":segments"]["N"])
        return {}

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        self._record("BatchGetItem", params)
        found: dict[str, list[dict[str, Any]]] = {}
        for table, request in params["RequestItems"].items():
            items = self._tables.get(table, {})
            found[table] = [
                items[value]
                for key in request["Keys"]
                for value in (next(iter(key.values()))["S"],)
                if value in items
            ]
        return {"Responses": found, "UnprocessedKeys": {}}

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        self._record("SendMessageBatch", params)
        return {
            "Successful": [
                {"Id": entry["Id"], "MessageId": f"m-{next(self._ids)}", "MD5OfMessageBody": ""}
                for entry in params["Entries"]
            ],
            "Failed": [],
        }

    def publish(self, **params: Any) -> dict[str, Any]:
        self._record("Publish", params)
        return {"MessageId": f"sms-{next(self._ids)}"}

    def send_email(self, **params: Any) -> dict[str, Any]:
        self._record("SendEmail", params)
        return {"MessageId": f"email-{next(self._ids)}"}

    def __getattr__(self, operation: str) -> Any:
        # put_item, update_item, delete_item, send_message, ...: an empty success.
        def call(**params: Any) -> dict[str, Any]:
            self._record(operation, params)
            return {}

        return call
