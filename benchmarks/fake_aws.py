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

    Some operations keep state, so that what depends on it behaves as on AWS: GetItem and
    BatchGetItem answer from ``tables``; the SMS cap's counter update (``ADD sent`` with its
    ``sent <= :room`` condition) adds up and refuses once full; and the SMS digest's three
    updates (count, line, close: ``DeliveryLogTable``) keep each window's count and lines.
    """

    def __init__(self, tables: Mapping[str, Mapping[str, dict[str, Any]]] | None = None) -> None:
        # table name -> partition key value -> item, for GetItem and BatchGetItem
        self._tables = tables or {}
        self._ids = itertools.count(1)
        self._counters: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.exceptions = SimpleNamespace(ConditionalCheckFailedException=_ConditionalCheckFailed)
        # (calendar_id, entry) -> the digest window's item: alerts, line_<id> attributes, closed
        self.digests: dict[tuple[str, str], dict[str, Any]] = {}

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
        expression = str(params.get("UpdateExpression", ""))
        if expression.startswith(("ADD alerts", "SET #line", "SET closed")):
            return self._digest_update(expression, params)
        if expression.startswith("ADD sent :segments"):
            values = params["ExpressionAttributeValues"]
            counter = repr(sorted((name, value["S"]) for name, value in params["Key"].items()))
            if self._counters[counter] > int(values[":room"]["N"]):
                error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "full"}}
                raise _ConditionalCheckFailed(error, "UpdateItem")
            self._counters[counter] += int(values[":segments"]["N"])
        return {}

    def _digest_update(self, expression: str, params: dict[str, Any]) -> dict[str, Any]:
        key = (params["Key"]["calendar_id"]["S"], params["Key"]["entry"]["S"])
        item = self.digests.get(key)
        closed = item is not None and "closed" in item
        if expression.startswith("SET closed"):
            if item is None:
                raise _ConditionalCheckFailed(
                    {"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem"
                )
            item["closed"] = {"BOOL": True}
            return {"Attributes": dict(item)}
        if closed:
            error = {"Error": {"Code": "ConditionalCheckFailedException"}, "Item": dict(item or {})}
            raise _ConditionalCheckFailed(error, "UpdateItem")  # type: ignore[arg-type]
        item = self.digests.setdefault(key, {})
        if expression.startswith("ADD alerts"):
            item["alerts"] = {"N": str(int(item.get("alerts", {"N": "0"})["N"]) + 1)}
            return {"Attributes": {"alerts": item["alerts"]}}
        item[params["ExpressionAttributeNames"]["#line"]] = params["ExpressionAttributeValues"][":line"]
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
