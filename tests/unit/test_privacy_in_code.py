"""No log line, metric or trace is written from a field that holds a contact or a patient name.

Read from the source, so that it holds for every call site, also those no test runs: each
``logger.*`` call's message is a plain string and its ``extra`` a dict literal whose keys and
values name no such field; the same for Powertools Metrics dimensions and metadata, X-Ray
annotations and metadata, and keys appended to the logger. What the values hold at run time
(a reason, a decision) is proven by the log-capture runs in ``test_privacy_on_every_path.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path
    for folder in (ROOT / "layers" / "shared", ROOT / "functions")
    for path in folder.rglob("*.py")
    if "__pycache__" not in path.parts
)

# Fields that hold a contact or a patient name, and whole objects that carry them (a
# notification, its alert, a record's body or images, calendar settings).
PERSONAL = frozenset(
    {
        "to",
        "contact",
        "contacts",
        "recipient",
        "sms_recipient",
        "email_recipient",
        "alert_email",
        "alert_mobile",
        "verified_email",
        "verified_mobile",
        "email",
        "mobile",
        "phone",
        "address",
        "destination",
        "patient_first_name",
        "patient_last_name",
        "patient",
        "first_name",
        "last_name",
        "notification",
        "alert",
        "content",
        "body",
        "raw_event",
        "payload",
        "new_image",
        "old_image",
        "NewImage",
        "OldImage",
        "settings",
        "current",
        "claims",
        "text",
        "html",
    }
)
# Calls whose result no longer holds what went in: a digest, a count, a type's name.
SAFE_CALLS = frozenset({"contact_digest", "len", "type", "bool", "channel_for"})
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})
TELEMETRY_METHODS = frozenset(
    {"add_dimension", "add_metadata", "put_annotation", "put_metadata", "append_keys", "set_correlation_id"}
)


@dataclass(frozen=True)
class CallSite:
    path: Path
    line: int
    method: str
    node: ast.Call

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} {self.method}"


def _receiver(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def call_sites() -> Iterator[CallSite]:
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method, receiver = node.func.attr, _receiver(node.func.value)
            if (method in LOG_METHODS and receiver == "logger") or (
                method in TELEMETRY_METHODS and receiver in {"logger", "metrics", "tracer"}
            ):
                yield CallSite(path, node.lineno, method, node)


def personal_fields(node: ast.AST) -> list[str]:
    """The personal fields an expression reads: a name, or the last attribute of a chain
    (``notification.to``, not ``notification.notification_id``), a subscript's key, a dict's
    keys and values, and a call's arguments unless the call reduces them (a digest, a count)."""
    if isinstance(node, ast.Name):
        return [node.id] if node.id in PERSONAL else []
    if isinstance(node, ast.Attribute):
        return [node.attr] if node.attr in PERSONAL else []
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) and node.value in PERSONAL else []
    if isinstance(node, ast.Subscript):
        return personal_fields(node.slice) + personal_fields(node.value)
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in SAFE_CALLS:
            return []
        # A method reads its receiver: alert.patient_last_name.upper()
        found = personal_fields(node.func.value) if isinstance(node.func, ast.Attribute) else []
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            found += personal_fields(argument)
        return found
    found = []
    for child in ast.iter_child_nodes(node):
        found += personal_fields(child)
    return found


SITES = list(call_sites())


def test_the_code_has_the_call_sites_this_test_reads() -> None:
    # A rename of the loggers (or of this test's idea of them) must not leave it checking nothing.
    assert len([site for site in SITES if site.method in LOG_METHODS]) >= 20
    assert {site.path.name for site in SITES} >= {
        "sender.py",
        "detector.py",
        "delivery_events.py",
        "routes.py",
    }


@pytest.mark.parametrize("site", SITES, ids=str)
def test_no_log_line_or_telemetry_takes_a_contact_or_a_patient_name(site: CallSite) -> None:
    call = site.node
    if site.method in LOG_METHODS:
        message, *rest = call.args
        # A plain string: an f-string or a variable would carry data past the keys below.
        assert isinstance(message, ast.Constant) and isinstance(message.value, str), site
        assert rest == [], f"{site}: %-style arguments carry data past this check"
        for keyword in call.keywords:
            if keyword.arg == "extra":
                assert isinstance(keyword.value, ast.Dict), f"{site}: extra must be a dict literal"
                assert None not in keyword.value.keys, f"{site}: ** in extra hides its keys"
    leaks = [field for argument in [*call.args, *call.keywords] for field in personal_fields(argument)]
    assert leaks == [], f"{site} takes {leaks}"


# Handlers whose response X-Ray may record: each answers a batch with message ids or sequence
# numbers only. Any other handler must say capture_response=False (the settings API's responses
# hold the contacts, the OnSubscribe handler's the caller's channel).
RESPONSE_TRACED = {"detector", "sender", "delivery_events"}


@pytest.mark.parametrize("app", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name)
def test_a_handler_whose_response_holds_personal_data_keeps_it_out_of_its_trace(app: Path) -> None:
    tree = ast.parse(app.read_text(encoding="utf-8"))
    decorators = [
        decorator
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "handler"
        for decorator in node.decorator_list
    ]
    traced = [
        d
        for d in decorators
        if "capture_lambda_handler" in ast.unparse(d.func if isinstance(d, ast.Call) else d)
    ]
    assert traced, f"{app}: the handler is expected to be traced"
    (decorator,) = traced
    captures = not (
        isinstance(decorator, ast.Call)
        and any(
            k.arg == "capture_response" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in decorator.keywords
        )
    )
    assert not captures or app.parent.name in RESPONSE_TRACED, app
    # The whole event (contacts, patient names) never goes to the log.
    assert "log_event=True" not in app.read_text(encoding="utf-8")


def test_this_check_finds_a_leak_where_there_is_one() -> None:
    # The check itself, on the leaks it is there to catch.
    leaking = [
        'logger.warning("over cap", extra={"calendar_id": alert.calendar_id, "to": notification.to})',
        'logger.info("x", extra={"who": settings.alert_email})',
        'logger.info("x", extra={"name": alert.patient_last_name.upper()})',
        'metrics.add_dimension(name="mobile", value=str(n))',
        'tracer.put_annotation(key="k", value=record["body"])',
        'metrics.add_metadata(key="k", value=f"{notification.to}")',
    ]
    for source in leaking:
        (statement,) = ast.parse(source).body
        assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
        call = statement.value
        assert [f for a in [*call.args, *call.keywords] for f in personal_fields(a)], source
    clean = 'logger.info("x", extra={"id": n.notification_id, "c": contact_digest(to), "n": len(body)})'
    (statement,) = ast.parse(clean).body
    assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
    assert [f for a in statement.value.keywords for f in personal_fields(a)] == []
