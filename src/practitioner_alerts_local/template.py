"""template.yaml, read the way CloudFormation would, for the resources the local runtime emulates.

The local stack is built from the template and nothing else: table keys, streams, TTL attributes,
queue attributes, redrive policies, function environments and event source mappings all come
from here, so a change to the template changes the local runtime with it. Only the intrinsic
functions the template actually uses for these resources are resolved; anything else raises
:class:`UnsupportedTemplate` naming what could not be resolved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
SES_CONFIGURATION_SET = "AWS::SES::ConfigurationSet"
FUNCTION = "AWS::Serverless::Function"
EVENT_API = "AWS::AppSync::Api"
CHANNEL_NAMESPACE = "AWS::AppSync::ChannelNamespace"


class UnsupportedTemplate(ValueError):
    """The template uses something the local runtime cannot emulate (named in the message)."""


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (``!Ref``, ``!GetAtt`` ...) into long form."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        loaded = yaml.load(fh, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise UnsupportedTemplate(f"{path}: not a CloudFormation template (no Resources)")
    return loaded


# ------------------------------------------------------------------------------------------------
# Physical resources: what the local stack created for a logical ID
# ------------------------------------------------------------------------------------------------
@dataclass
class PhysicalResource:
    """What ``Ref`` and ``Fn::GetAtt`` return for one created resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StackContext:
    stack_name: str
    region: str
    account_id: str
    partition: str = "aws"


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Template:
    """A loaded template plus the values it resolves to on the local stack."""

    def __init__(
        self,
        document: Mapping[str, Any],
        context: StackContext,
        parameter_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.document = document
        self.context = context
        self.parameters = self._parameter_values(parameter_overrides or {})
        self.physical: dict[str, PhysicalResource] = {}
        self._conditions: dict[str, bool] = {}

    # -- Parameters and conditions ----------------------------------------------------------------
    def _parameter_values(self, overrides: Mapping[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, spec in (self.document.get("Parameters") or {}).items():
            if name in overrides:
                values[name] = str(overrides[name])
            elif "Default" in spec:
                values[name] = str(spec["Default"])
        return values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.document.get("Conditions") or {}).get(name)
            if spec is None:
                raise UnsupportedTemplate(f"Conditions.{name}: not defined")
            self._conditions[name] = bool(self._evaluate_condition(spec))
        return self._conditions[name]

    def _evaluate_condition(self, spec: Any) -> bool:
        if isinstance(spec, dict) and len(spec) == 1:
            ((function, argument),) = spec.items()
            if function == "Fn::Equals":
                left, right = (self.resolve(value) for value in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self._evaluate_condition(argument[0])
            if function == "Fn::And":
                return all(self._evaluate_condition(value) for value in argument)
            if function == "Fn::Or":
                return any(self._evaluate_condition(value) for value in argument)
            if function == "Condition":
                return self.condition(str(argument))
        raise UnsupportedTemplate(f"condition {spec!r}: unsupported")

    # -- Resources ------------------------------------------------------------------------------
    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.document["Resources"]
        return resources

    def logical_ids(self, resource_type: str) -> list[str]:
        return [logical_id for logical_id, r in self.resources.items() if r.get("Type") == resource_type]

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        try:
            props: Mapping[str, Any] = self.resources[logical_id].get("Properties") or {}
        except KeyError as error:
            raise UnsupportedTemplate(f"Resources.{logical_id}: not in the template") from error
        return props

    def default_physical_name(self, logical_id: str) -> str:
        """CloudFormation names unnamed resources ``<stack>-<logical id>-<suffix>``; locally there
        is one stack per process, so the suffix is left off to keep names readable."""
        return f"{self.context.stack_name}-{logical_id}"

    def ordered_by_dependencies(self, logical_ids: list[str]) -> list[str]:
        """Logical IDs ordered so that every resource comes after those it references
        (a queue after its dead-letter queue)."""
        wanted = set(logical_ids)
        ordered: list[str] = []

        def visit(logical_id: str, path: tuple[str, ...]) -> None:
            if logical_id in ordered:
                return
            if logical_id in path:
                raise UnsupportedTemplate(f"circular reference: {' -> '.join((*path, logical_id))}")
            for dependency in sorted(referenced_ids(self.properties(logical_id)) & wanted):
                visit(dependency, (*path, logical_id))
            ordered.append(logical_id)

        for logical_id in logical_ids:
            visit(logical_id, ())
        return ordered

    # -- Intrinsic functions --------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function replaced by what it means on the local stack."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value if not _is_no_value(item)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key,) = value
            handler = self._intrinsics.get(key)
            if handler is not None:
                return handler(self, value[key])
        return {key: self.resolve(item) for key, item in value.items() if not _is_no_value(item)}

    def _ref(self, name: Any) -> str:
        name = str(name)
        pseudo = {
            "AWS::Region": self.context.region,
            "AWS::AccountId": self.context.account_id,
            "AWS::StackName": self.context.stack_name,
            "AWS::Partition": self.context.partition,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in (self.document.get("Parameters") or {}):
            raise UnsupportedTemplate(f"Parameters.{name}: has no Default and no value was given")
        if name in self.physical:
            return self.physical[name].ref
        raise UnsupportedTemplate(f"Ref {name}: not a parameter or a resource the local runtime created")

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = (argument if isinstance(argument, list) else str(argument).split(".", 1))[:2]
        resource = self.physical.get(str(logical_id))
        if resource is None or attribute not in resource.attributes:
            raise UnsupportedTemplate(f"GetAtt {logical_id}.{attribute}: not created by the local runtime")
        return resource.attributes[str(attribute)]

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = str(argument[0]), {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = str(argument), {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(name.split(".", 1))
            return self._ref(name)

        return _SUB_VARIABLE.sub(replace, text)

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _select(self, argument: Any) -> Any:
        index, values = argument
        return self.resolve(values)[int(self.resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return str(self.resolve(text)).split(str(delimiter))

    def _join(self, argument: Any) -> str:
        delimiter, values = argument
        return str(delimiter).join(str(v) for v in self.resolve(values))

    _intrinsics: Mapping[str, Callable[[Template, Any], Any]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::Join": _join,
    }

    # -- Functions ----------------------------------------------------------------------------
    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment as SAM deploys it: Globals first, the function's own on top."""
        global_variables = (
            ((self.document.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
        ).get("Variables") or {}
        own = (self.properties(logical_id).get("Environment") or {}).get("Variables") or {}
        merged = {**global_variables, **own}
        # A variable that is AWS::NoValue is left out, as CloudFormation does.
        return {
            name: _as_environment_value(self.resolve(value))
            for name, value in merged.items()
            if not _is_no_value(value)
        }

    def function_timeout(self, logical_id: str) -> int:
        global_timeout = ((self.document.get("Globals") or {}).get("Function") or {}).get("Timeout", 3)
        return int(self.resolve(self.properties(logical_id).get("Timeout", global_timeout)))

    def function_events(self, logical_id: str, event_type: str) -> dict[str, Mapping[str, Any]]:
        events = self.properties(logical_id).get("Events") or {}
        return {
            name: event.get("Properties") or {}
            for name, event in events.items()
            if event.get("Type") == event_type
        }


def _is_no_value(value: Any) -> bool:
    return isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}


def _as_environment_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def referenced_ids(value: Any) -> set[str]:
    """Every logical ID or parameter a value refers to (Ref, GetAtt, ${X} inside Sub)."""
    found: set[str] = set()
    for key, inner in _walk_intrinsics(value):
        if key == "Ref" and isinstance(inner, str):
            found.add(inner)
        elif key == "Fn::GetAtt":
            found.add(str(inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]))
        elif key == "Fn::Sub":
            text = inner[0] if isinstance(inner, list) else inner
            found.update(match.split(".", 1)[0] for match in _SUB_VARIABLE.findall(str(text)))
    return found


def _walk_intrinsics(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _walk_intrinsics(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_intrinsics(item)


# ------------------------------------------------------------------------------------------------
# Resource properties -> API requests
# ------------------------------------------------------------------------------------------------
_TABLE_PASSTHROUGH = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)


def create_table_request(template: Template, logical_id: str) -> dict[str, Any]:
    """CreateTable arguments for an ``AWS::DynamoDB::Table`` (TTL is a separate call)."""
    props = template.resolve(dict(template.properties(logical_id)))
    request: dict[str, Any] = {
        "TableName": props.get("TableName") or template.default_physical_name(logical_id),
        **{key: props[key] for key in _TABLE_PASSTHROUGH if key in props},
    }
    request.setdefault(
        "BillingMode", "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST"
    )
    stream = props.get("StreamSpecification")
    if stream:
        # CloudFormation's StreamSpecification has no StreamEnabled: the view type switches it on.
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def table_ttl_attribute(template: Template, logical_id: str) -> str | None:
    spec = template.resolve(template.properties(logical_id).get("TimeToLiveSpecification") or {})
    if spec and spec.get("Enabled") in (True, "true", "True"):
        return str(spec["AttributeName"])
    return None


_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def create_queue_request(template: Template, logical_id: str) -> dict[str, Any]:
    """CreateQueue arguments for an ``AWS::SQS::Queue``; the redrive target must exist already."""
    props = template.resolve(dict(template.properties(logical_id)))
    fifo = props.get("FifoQueue") in (True, "true", "True")
    name = props.get("QueueName") or template.default_physical_name(logical_id) + (".fifo" if fifo else "")
    attributes = {key: _as_environment_value(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    return {"QueueName": name, "Attributes": attributes}


def ses_configuration_set_name(template: Template, logical_id: str) -> str:
    props = template.resolve(dict(template.properties(logical_id)))
    return str(props.get("Name") or template.default_physical_name(logical_id))
