"""`sam local invoke` against `practitioner-alerts serve`: the --env-vars file and the commands.

`sam local invoke` runs one function in a Docker container with the environment its template
declares, resolved as far as SAM CLI can (a queue URL from ``!GetAtt`` comes out empty). The
--env-vars file fills in what `serve` created: table names, queue URLs, the real-time endpoint,
and ``AWS_ENDPOINT_URL`` so that boto3 in the container talks to serve's moto server, not to AWS.
A container reaches the host as ``host.docker.internal`` (Docker Desktop has it; on Linux the
printed command adds it with ``--add-host host.docker.internal:host-gateway`` and serve listens
on an address the container can reach, ``--bind 0.0.0.0``).

    .venv/bin/python -m practitioner_alerts_local.sam_local > events/env-local.json

writes the file for serve's default ports from a running serve; ``--aws-port`` and
``--realtime-port`` follow a serve started on other ports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from practitioner_alerts_local.stack import DEFAULT_TEMPLATE, AwsClients, LocalStack, samconfig_region
from practitioner_alerts_local.template import FUNCTION

CONTAINER_HOST = "host.docker.internal"
LOOPBACK = "127.0.0.1"
DEFAULT_AWS_PORT = 5005
DEFAULT_REALTIME_PORT = 8086
ENV_VARS_FILE = "events/env-local.json"
# What each sample event is for, in the order the README's walk-through uses them.
SAMPLE_INVOCATIONS = (
    ("DetectorFunction", "events/stream-online-booking.json"),
    ("SenderFunction", "events/queue-sms.json"),
    ("DeliveryEventsFunction", "events/ses-bounce.json"),
)


def container_env_vars(stack: LocalStack, host: str = CONTAINER_HOST) -> dict[str, dict[str, str]]:
    """The --env-vars document: every function's variables as ``stack`` resolves them, with the
    loopback addresses of serve's endpoints written as the container reaches them."""
    endpoint = stack.clients.endpoint_url
    if not endpoint:
        raise ValueError("the stack has no local endpoint: attach it to a running serve")

    def for_container(value: str) -> str:
        return value.replace(f"//{LOOPBACK}:", f"//{host}:")

    document: dict[str, dict[str, str]] = {"Parameters": {"AWS_ENDPOINT_URL": for_container(endpoint)}}
    for logical_id in stack.template.logical_ids(FUNCTION):
        document[logical_id] = {
            name: for_container(value) for name, value in stack.function_environment(logical_id).items()
        }
    return document


def invoke_commands(*, linux: bool, env_vars_file: str = ENV_VARS_FILE) -> list[str]:
    """The `sam local invoke` command line for each sample event (after `sam build`)."""
    # Docker Engine on Linux has no host.docker.internal of its own; host-gateway is the host.
    extra = " --add-host host.docker.internal:host-gateway" if linux else ""
    return [
        f"sam local invoke {function} -e {event} --env-vars {env_vars_file}{extra}"
        for function, event in SAMPLE_INVOCATIONS
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--aws-port", type=int, default=DEFAULT_AWS_PORT, help="serve's --aws-port")
    parser.add_argument(
        "--realtime-port", type=int, default=DEFAULT_REALTIME_PORT, help="serve's --realtime-port"
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    args = parser.parse_args(argv)
    clients = AwsClients(samconfig_region(), f"http://{LOOPBACK}:{args.aws_port}")
    stack = LocalStack.from_files(
        clients, args.template, realtime_endpoint=f"{LOOPBACK}:{args.realtime_port}"
    )
    stack.attach()
    json.dump(container_env_vars(stack), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
