"""``practitioner-alerts``: the pipeline on this machine, on moto. A development tool, never deployed.

    practitioner-alerts demo                         a scripted day, then a report
    practitioner-alerts replay [--json] FILE...      stream event files through the pipeline
    practitioner-alerts serve                        moto server + pipeline + outbox page + settings API
    practitioner-alerts token --calendars a,b [--view-calendars c]
                                                     a token the local settings API accepts
    practitioner-alerts redrive [--dry-run] (--endpoint-url URL | --stack-name NAME)
                                                     move dead letters back for another attempt
    practitioner-alerts import-settings FILE [--mark-verified] (--endpoint-url URL | --stack-name NAME)
                                                     an operator's bulk import of calendar settings

Exit codes: 0 when the run finished; 1 when replay dead-lettered a record (its report says which
and why; ``--allow-dead-letters`` makes that 0); 2 for unusable input or a command that cannot
start (a taken port, an endpoint nobody answers at, missing credentials), with one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from practitioner_alerts_local.ports import ServeError, check_ports_free

# The rest is imported by the command that needs it: moto, boto3 and the stack take about a
# second, which `token` never needs and a taken port must not wait for.
if TYPE_CHECKING:
    from practitioner_alerts.domain.settings import CalendarSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"
PROG = "practitioner-alerts"
DEFAULT_API_PORT = 8085
DEFAULT_CALENDARS = PROJECT_ROOT / "events" / "calendars.json"


class UsageError(Exception):
    """Input the command cannot use; the message is the one line printed to stderr."""


# Credentials AWS itself turned down (as opposed to none being found on this machine).
_REFUSED_CREDENTIALS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
# What a local endpoint answers when it is a moto server but not serve's stack.
_NO_SUCH_RESOURCE = frozenset({"ResourceNotFoundException", "QueueDoesNotExist", "NonExistentQueue"})


@contextlib.contextmanager
def aws_problems_as_one_line(args: argparse.Namespace) -> Iterator[None]:
    """botocore's failures to reach or sign in to AWS as one line that says what to do.

    A tool run against a stopped ``serve`` or with an expired sign-in is the common case, and
    a hundred lines of traceback hide the one thing to fix.
    """
    endpoint = getattr(args, "endpoint_url", None)
    try:
        yield
    except (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError) as error:
        if endpoint:
            raise UsageError(
                f"nothing answers at {endpoint}: start `{PROG} serve` first and pass the AWS "
                "endpoint it prints (by default http://127.0.0.1:5005) to --endpoint-url"
            ) from error
        raise UsageError(
            f"cannot reach AWS ({type(error).__name__}): check the network, or the region with --region"
        ) from error
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise UsageError(
            "no AWS credentials found: sign in (`aws sso login --profile NAME` or `aws configure`), "
            "then run again with AWS_PROFILE=NAME"
        ) from error
    except (TokenRetrievalError, SSOTokenLoadError, UnauthorizedSSOTokenError) as error:
        raise UsageError(
            "the AWS sign-in has expired: run `aws sso login --profile NAME` and try again"
        ) from error
    except NoRegionError as error:
        raise UsageError("no AWS region configured: pass --region, e.g. --region eu-central-1") from error
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "Unknown"))
        if code in _REFUSED_CREDENTIALS:
            raise UsageError(
                f"AWS refused the credentials ({code}): sign in again (`aws sso login`) or check AWS_PROFILE"
            ) from error
        if endpoint and code.removeprefix("AWS.SimpleQueueService.") in _NO_SUCH_RESOURCE:
            raise UsageError(
                f"no Practitioner Alerts stack at {endpoint} ({code}): pass the AWS endpoint "
                f"that `{PROG} serve` printed, while it runs"
            ) from error
        message = " ".join(str(error.response.get("Error", {}).get("Message", "")).split())
        raise UsageError(f"AWS answered {code}: {message}"[:300]) from error


# ------------------------------------------------------------------------------------------------
# Input validation
# ------------------------------------------------------------------------------------------------
def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsageError(f"{what} {path}: no such file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{what} {path}: cannot be read ({type(error).__name__})") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{what} {path}: not JSON (line {error.lineno}: {error.msg})") from error


def read_stream_event(path: Path) -> dict[str, Any]:
    """A Lambda DynamoDB stream event, as ``sam local generate-event dynamodb update`` writes it."""
    event = _read_json(path, "event file")
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise UsageError(f'event file {path}: not a DynamoDB stream event (no "Records" list)')
    for index, record in enumerate(records):
        # Malformed *content* is the detector's to park; a record of another service is not a stream event.
        if not isinstance(record, dict) or not (
            record.get("eventSource") == "aws:dynamodb" or "dynamodb" in record
        ):
            raise UsageError(f"event file {path}: Records[{index}] is not a DynamoDB stream record")
    return dict(event)


def read_calendars(path: Path) -> list[CalendarSettings]:
    """Calendar settings, validated exactly as the settings API validates them."""
    from pydantic import ValidationError  # noqa: PLC0415

    from practitioner_alerts.domain.settings import CalendarSettings, entering  # noqa: PLC0415

    data = _read_json(path, "calendars file")
    if not isinstance(data, list):
        raise UsageError(f"calendars file {path}: expected a JSON list of calendar settings objects")
    calendars = []
    for index, item in enumerate(data):
        name = item.get("calendar_id") if isinstance(item, dict) else None
        label = f"calendar {name!r}" if name else f"calendar #{index + 1}"
        try:
            calendars.append(CalendarSettings.model_validate(item, context=entering()))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(object)'}: {e['msg']}" for e in error.errors()
            )
            raise UsageError(f"calendars file {path}: {label}: {problems}") from error
    return calendars


# ------------------------------------------------------------------------------------------------
# Commands
# ------------------------------------------------------------------------------------------------
def _lambda_log_target(args: argparse.Namespace) -> TextIO | None:
    return sys.stderr if args.lambda_logs else None


def run_replay(args: argparse.Namespace, out: TextIO) -> int:
    from practitioner_alerts_local.report import format_report  # noqa: PLC0415
    from practitioner_alerts_local.runtime import LocalRuntime  # noqa: PLC0415

    calendars = read_calendars(Path(args.calendars))
    events = [
        (path, read_stream_event(Path(path))) for path in args.events
    ]  # all checked before anything runs
    with LocalRuntime.embedded(
        template_path=Path(args.template), lambda_logs=_lambda_log_target(args)
    ) as runtime:
        runtime.put_calendars(calendars)
        for _path, event in events:
            runtime.replay(event)
            runtime.drain()
        report = runtime.report()
    if args.json:
        out.write(json.dumps(report.as_json(), ensure_ascii=False, default=str) + "\n")
    else:
        out.write(format_report(report, title=f"Replay of {len(events)} event file(s)"))
    parked = len(report.dead_letters)
    if parked and not args.allow_dead_letters:
        # A platform's CI runs replay over its sample writes; a contract break must fail it.
        sys.stderr.write(
            f"{PROG}: {parked} dead letter(s): the pipeline parked what it could not use, "
            "reasons above (exit 1; --allow-dead-letters exits 0)\n"
        )
        return 1
    return 0


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    from practitioner_alerts_local.pages import calendar_page_url  # noqa: PLC0415
    from practitioner_alerts_local.report import format_report, format_steps  # noqa: PLC0415
    from practitioner_alerts_local.runtime import LocalRuntime  # noqa: PLC0415
    from practitioner_alerts_local.scenario import DAY, ScenarioClock, demo_calendars, run_day  # noqa: PLC0415

    started = time.perf_counter()
    clock = ScenarioClock(datetime.fromisoformat(DAY[0].at))
    with LocalRuntime.embedded(
        template_path=Path(args.template), lambda_logs=_lambda_log_target(args), clock=clock
    ) as runtime:
        runtime.put_calendars(demo_calendars())
        steps = run_day(runtime, clock)
        report = runtime.report()
    title = "Demo: a day of appointment changes"
    out.write(f"{title}\n{'=' * len(title)}\n\n")
    out.write(format_steps(steps) + "\n")
    # The steps already listed every decision, each under the change it was about.
    out.write(format_report(report, title=None, decisions=False))
    out.write(
        f"\nFinished in {time.perf_counter() - started:.1f} s (moto in-process; nothing was sent to AWS).\n"
    )
    page = calendar_page_url(DEFAULT_API_PORT, "cal-dr-weber")
    out.write(f"To watch the pop-ups live: `{PROG} serve`, then open {page} (its settings: .../settings).\n")
    return 0


def run_serve(args: argparse.Namespace, out: TextIO) -> int:
    ports = {"--aws-port": args.aws_port, "--api-port": args.api_port, "--realtime-port": args.realtime_port}
    try:
        check_ports_free(ports)  # before a second of imports: a taken port is said at once
        from practitioner_alerts_local.serve import serve  # noqa: PLC0415

        code = serve(
            aws_port=args.aws_port,
            api_port=args.api_port,
            realtime_port=args.realtime_port,
            template_path=Path(args.template),
            calendars=read_calendars(Path(args.calendars)),
            lambda_logs=_lambda_log_target(args),
            out=out,
            sam_local=args.sam_local,
        )
    except ServeError as error:
        raise UsageError(str(error)) from error
    # The process ends next. The final garbage collection over moto's backends and every loaded
    # module took 1-2 s after a stop that itself takes 0.5 s; nothing in that heap needs it.
    gc.freeze()
    return code


def run_token(args: argparse.Namespace, out: TextIO) -> int:
    from practitioner_alerts_local.api import main_token  # noqa: PLC0415

    # The token is the last word on stdout, so `$(practitioner-alerts token ...)` just works.
    out.write(main_token(args.token_args) + "\n")
    return 0


def run_redrive(args: argparse.Namespace, out: TextIO) -> int:
    from practitioner_alerts_local.redrive import (  # noqa: PLC0415
        RedriveFailed,
        aws_targets,
        format_outcomes,
        local_targets,
        redrive,
    )
    from practitioner_alerts_local.runtime import LocalRuntime  # noqa: PLC0415
    from practitioner_alerts_local.stack import AwsClients, LocalStack, samconfig_region  # noqa: PLC0415

    try:
        with aws_problems_as_one_line(args):
            if args.stack_name:
                outcomes = redrive(aws_targets(args.stack_name, args.region), dry_run=args.dry_run)
            else:
                stack = LocalStack.from_files(
                    AwsClients(args.region or samconfig_region(), args.endpoint_url), Path(args.template)
                )
                stack.attach()
                runtime = LocalRuntime(stack, lambda_logs=_lambda_log_target(args))
                outcomes = redrive(local_targets(runtime), dry_run=args.dry_run)
    except RedriveFailed as error:
        raise UsageError(str(error)) from error
    if args.json:
        out.write(json.dumps([o.as_json() for o in outcomes], ensure_ascii=False) + "\n")
    else:
        out.write(format_outcomes(outcomes, dry_run=args.dry_run))
    return 0


def run_import_settings(args: argparse.Namespace, out: TextIO) -> int:
    calendars = read_calendars(Path(args.file))  # all of it checked before anything is written
    with aws_problems_as_one_line(args):
        return _import_settings(args, calendars, out)


def _import_settings(args: argparse.Namespace, calendars: list[CalendarSettings], out: TextIO) -> int:
    from practitioner_alerts.adapters.dynamodb import CalendarSettingsTable  # noqa: PLC0415
    from practitioner_alerts_local.import_settings import import_settings  # noqa: PLC0415
    from practitioner_alerts_local.stack import AwsClients, LocalStack, samconfig_region  # noqa: PLC0415

    if args.stack_name:
        import boto3  # noqa: PLC0415 - only this path talks to real AWS

        session = boto3.session.Session(region_name=args.region)
        try:
            stack = session.client("cloudformation").describe_stacks(StackName=args.stack_name)["Stacks"][0]
        except ClientError as error:
            if "does not exist" not in str(error):
                raise  # credentials and the like: aws_problems_as_one_line says what to do
            raise UsageError(
                f"stack {args.stack_name} not found in region {session.region_name}: "
                "check --stack-name and --region"
            ) from error
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        table = CalendarSettingsTable(session.client("dynamodb"), outputs["CalendarSettingsTableName"])
    else:
        local = LocalStack.from_files(
            AwsClients(args.region or samconfig_region(), args.endpoint_url), Path(args.template)
        )
        local.attach()
        table = CalendarSettingsTable(local.clients("dynamodb"), local.ref("CalendarSettingsTable"))
    imported = import_settings(table, calendars, mark_verified=args.mark_verified, dry_run=args.dry_run)
    out.write(imported.summary(dry_run=args.dry_run))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Run Practitioner Alerts locally on moto.")
    parser.add_argument(
        "--template", default=str(DEFAULT_TEMPLATE), help="SAM template (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def lambda_logs_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--lambda-logs", action="store_true", help="show the functions' own (JSON) log lines on stderr"
        )

    demo = commands.add_parser("demo", help="run a scripted day of appointment changes and report")
    lambda_logs_option(demo)
    demo.set_defaults(run=run_demo)

    replay = commands.add_parser("replay", help="feed DynamoDB stream event files through the pipeline")
    replay.add_argument(
        "events", nargs="+", metavar="EVENTS_FILE", help="Lambda DynamoDB stream events, one batch each"
    )
    replay.add_argument(
        "--calendars",
        default=str(DEFAULT_CALENDARS),
        help="JSON list of calendar settings (default: %(default)s)",
    )
    replay.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    replay.add_argument(
        "--allow-dead-letters",
        action="store_true",
        help="exit 0 even when records were dead-lettered (default: exit 1)",
    )
    lambda_logs_option(replay)
    replay.set_defaults(run=run_replay)

    serve = commands.add_parser("serve", help="moto server for the booking platform, pipeline, outbox page")
    serve.add_argument("--aws-port", type=int, default=5005, help="moto server port on 127.0.0.1")
    serve.add_argument(
        "--api-port", type=int, default=DEFAULT_API_PORT, help="outbox / API port on 127.0.0.1"
    )
    serve.add_argument(
        "--realtime-port",
        type=int,
        default=8086,
        help="local AppSync Events endpoint (WebSocket /event/realtime, publish /event) on 127.0.0.1",
    )
    serve.add_argument(
        "--calendars", default=str(DEFAULT_CALENDARS), help="calendar settings to seed (default: %(default)s)"
    )
    lambda_logs_option(serve)
    # The default now; still accepted so that scripts written for the old default keep working.
    serve.add_argument("--no-lambda-logs", dest="lambda_logs", action="store_false", help=argparse.SUPPRESS)
    serve.add_argument(
        "--sam-local",
        action="store_true",
        help="run no function: you invoke them with `sam local invoke` (prints the commands; on Linux the "
        "AWS and real-time ports listen on all interfaces, for Docker's containers)",
    )
    serve.set_defaults(run=run_serve)

    token = commands.add_parser(
        "token",
        help="print a JWT the local settings API accepts",
        description="Options: --calendars cal-a,cal-b (the calendars the holder administers), "
        "--view-calendars cal-c (those the holder may only see: feed and pop-ups), "
        "--subject NAME, --hours N.",
        add_help=False,
    )
    token.set_defaults(run=run_token)

    redrive_command = commands.add_parser(
        "redrive", help="move dead letters back for another attempt (AWS or the local stack)"
    )
    where = redrive_command.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--endpoint-url", help="a local stack's AWS endpoint, e.g. serve's http://127.0.0.1:5005"
    )
    where.add_argument("--stack-name", help="a deployed stack, e.g. practitioner-alerts-dev")
    redrive_command.add_argument("--region", help="AWS region (default: the AWS config, or samconfig's)")
    redrive_command.add_argument("--dry-run", action="store_true", help="only list what would be moved")
    redrive_command.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    lambda_logs_option(redrive_command)
    redrive_command.set_defaults(run=run_redrive)

    importing = commands.add_parser(
        "import-settings",
        help="an operator's bulk import of calendar settings (AWS or the local stack)",
        description="Writes a JSON list of calendar settings (the --calendars format) into the "
        "settings table. Contacts are pending, and get no alerts until confirmed, unless "
        "--mark-verified vouches for all of them.",
    )
    importing.add_argument("file", metavar="CALENDARS_FILE", help="JSON list of calendar settings")
    into = importing.add_mutually_exclusive_group(required=True)
    into.add_argument(
        "--endpoint-url", help="a local stack's AWS endpoint, e.g. serve's http://127.0.0.1:5005"
    )
    into.add_argument("--stack-name", help="a deployed stack, e.g. practitioner-alerts-dev")
    importing.add_argument("--region", help="AWS region (default: the AWS config, or samconfig's)")
    importing.add_argument(
        "--mark-verified",
        action="store_true",
        help="the operator vouches that every contact in the file is its practitioner's",
    )
    importing.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    importing.set_defaults(run=run_import_settings)
    return parser


def _error_exit(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return 2


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = build_parser()
    # `token` owns its options (parsed by the settings API's issuer); every other command is strict.
    args, rest = parser.parse_known_args(argv)
    if args.command == "token":
        args.token_args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if not getattr(args, "stack_name", None):  # a deployed stack needs the shell's real credentials
        _quiet_environment()
    try:
        run: Callable[[argparse.Namespace, TextIO], int] = args.run
        result = run(args, out or sys.stdout)
    except UsageError as error:
        return _error_exit(str(error))
    return result


def _quiet_environment() -> None:
    """Never reach real AWS and never print X-Ray noise, whatever the shell has set."""
    defaults: Mapping[str, str] = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    os.environ.update(defaults)
    # A profile or endpoint from the shell (say, LocalStack's) must not divert the embedded stack.
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"):
        os.environ.pop(name, None)


if __name__ == "__main__":
    raise SystemExit(main())
