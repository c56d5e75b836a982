"""Each fake and its real adapter behind one interface, so that one test module runs on both.

The real adapters run on moto, and those on DynamoDB also on AWS's DynamoDB Local, which is the
truth where the two disagree (as in tests/integration).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.dynamodb_local import engine

# A fake, and its adapter on moto's DynamoDB and on DynamoDB Local.
ON_DYNAMODB = ["fake", "moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)]


@pytest.fixture
def on_moto() -> Iterator[None]:
    with mock_aws():
        yield


@contextlib.contextmanager
def real_dynamodb(
    kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    with mock_aws():
        if kind == "moto":
            yield
            return
        url: str = request.getfixturevalue("dynamodb_local")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        try:
            yield
        finally:
            engine.drop_all_tables(url)
