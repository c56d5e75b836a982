"""The local stack: template.yaml's tables, queues and SES setup created on moto.

Names, keys, queue attributes and the functions' environments all come from the template (see
:mod:`practitioner_alerts_local.template`); this module only turns them into API calls and
remembers what ``Ref`` / ``Fn::GetAtt`` mean for each created resource.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from practitioner_alerts_local.filters import FilterCriteria
from practitioner_alerts_local.template import (
    CHANNEL_NAMESPACE,
    EVENT_API,
    FUNCTION,
    QUEUE,
    SES_CONFIGURATION_SET,
    TABLE,
    PhysicalResource,
    StackContext,
    Template,
    UnsupportedTemplate,
    create_queue_request,
    create_table_request,
    load_template,
    ses_configuration_set_name,
    table_ttl_attribute,
)

# moto's default account; every ARN the local stack hands out carries it.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_STACK_NAME = "practitioner-alerts-local"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"
DEFAULT_SAMCONFIG = PROJECT_ROOT / "samconfig.toml"
# The environment the local stack's parameters come from when the template has no default.
SAMCONFIG_ENVIRONMENT = "dev"
FALLBACK_REGION = "eu-central-1"

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# Where `serve` runs the local AppSync Events endpoint unless told otherwise.
DEFAULT_REALTIME_ENDPOINT = "127.0.0.1:8086"
LOCAL_EVENT_API_ID = "local"


# botocore sends calls that carry an ARN (e.g. DescribeStream) to account-based endpoints
# (<account>.streams-ddb.<region>...), which moto does not route; the regional ones it does.
_LOCAL_CLIENT_CONFIG = Config(account_id_endpoint_mode="disabled")


class AwsClients:
    """boto3 clients for the local stack: moto in-process (no endpoint) or a moto server."""

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
                config=_LOCAL_CLIENT_CONFIG,
            )
        return self._clients[service]


def samconfig_parameters(
    path: Path = DEFAULT_SAMCONFIG, environment: str = SAMCONFIG_ENVIRONMENT
) -> dict[str, str]:
    """``parameter_overrides`` of one samconfig.toml environment, e.g. the dev SenderEmail."""
    if not path.is_file():
        return {}
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    overrides = (
        config.get(environment, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
    )
    if isinstance(overrides, str):
        overrides = overrides.split()
    return dict(str(item).split("=", 1) for item in overrides if "=" in str(item))


def samconfig_region(path: Path = DEFAULT_SAMCONFIG, environment: str = SAMCONFIG_ENVIRONMENT) -> str:
    if not path.is_file():
        return FALLBACK_REGION
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    return str(
        config.get(environment, {}).get("deploy", {}).get("parameters", {}).get("region", FALLBACK_REGION)
    )


@dataclass(frozen=True)
class StreamMappingConfig:
    """An event source mapping from a DynamoDB stream, with the template's settings."""

    function: str
    event: str
    table: str
    stream_arn: str
    starting_position: str
    batch_size: int
    batching_window_seconds: float
    filters: FilterCriteria
    bisect_on_error: bool
    maximum_retry_attempts: int  # -1: until the record expires
    maximum_record_age_seconds: int  # -1: until the record expires
    report_batch_item_failures: bool
    on_failure_queue_url: str | None


@dataclass(frozen=True)
class QueueMappingConfig:
    """An event source mapping from an SQS queue, with the template's settings."""

    function: str
    event: str
    queue_url: str
    queue_arn: str
    fifo: bool
    batch_size: int
    batching_window_seconds: float
    filters: FilterCriteria
    report_batch_item_failures: bool
    visibility_timeout_seconds: int
    max_receive_count: int | None
    dead_letter_queue_url: str | None


class LocalStack:
    """Creates the template's resources and answers what they are called locally."""

    def __init__(
        self, template: Template, clients: AwsClients, realtime_endpoint: str = DEFAULT_REALTIME_ENDPOINT
    ) -> None:
        self.template = template
        self.clients = clients
        # host:port of the local AppSync Events endpoint (practitioner_alerts_local.realtime): the
        # template's Event API resolves to it, so the sender publishes there.
        self.realtime_endpoint = realtime_endpoint
        self.ttl_attributes: dict[str, str] = {}
        self.sender_identity: str | None = None

    @classmethod
    def from_files(
        cls,
        clients: AwsClients,
        template_path: Path = DEFAULT_TEMPLATE,
        parameter_overrides: Mapping[str, str] | None = None,
        samconfig_path: Path = DEFAULT_SAMCONFIG,
        realtime_endpoint: str = DEFAULT_REALTIME_ENDPOINT,
    ) -> LocalStack:
        parameters = {**samconfig_parameters(samconfig_path), **(parameter_overrides or {})}
        context = StackContext(
            stack_name=LOCAL_STACK_NAME, region=clients.region, account_id=LOCAL_ACCOUNT_ID
        )
        return cls(
            Template(load_template(template_path), context, parameters),
            clients,
            realtime_endpoint=realtime_endpoint,
        )

    # -- Creation -------------------------------------------------------------------------------
    def create(self) -> None:
        template = self.template
        for logical_id in template.logical_ids(TABLE):
            self._create_table(logical_id)
        for logical_id in template.ordered_by_dependencies(template.logical_ids(QUEUE)):
            self._create_queue(logical_id)
        for logical_id in template.logical_ids(SES_CONFIGURATION_SET):
            name = ses_configuration_set_name(template, logical_id)
            self.clients("sesv2").create_configuration_set(ConfigurationSetName=name)
            template.physical[logical_id] = PhysicalResource(ref=name)
        self._name_functions()
        self._name_event_apis()
        self._verify_sender_identity()

    def attach(self) -> None:
        """Learn the names of a stack that ``serve`` already created on this endpoint, without
        creating anything (for tools such as ``redrive`` that work on a running local stack)."""
        template = self.template
        dynamodb, sqs = self.clients("dynamodb"), self.clients("sqs")
        for logical_id in template.logical_ids(TABLE):
            name = create_table_request(template, logical_id)["TableName"]
            table = dynamodb.describe_table(TableName=name)["Table"]
            attributes = {"Arn": table["TableArn"]}
            if table.get("LatestStreamArn"):
                attributes["StreamArn"] = table["LatestStreamArn"]
            template.physical[logical_id] = PhysicalResource(ref=name, attributes=attributes)
        for logical_id in template.ordered_by_dependencies(template.logical_ids(QUEUE)):
            name = create_queue_request(template, logical_id)["QueueName"]
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            template.physical[logical_id] = PhysicalResource(
                ref=url, attributes={"Arn": arn, "QueueUrl": url, "QueueName": name}
            )
        for logical_id in template.logical_ids(SES_CONFIGURATION_SET):
            template.physical[logical_id] = PhysicalResource(
                ref=ses_configuration_set_name(template, logical_id)
            )
        self._name_functions()
        self._name_event_apis()

    def _name_functions(self) -> None:
        template = self.template
        for logical_id in template.logical_ids(FUNCTION):
            # Ref to a function is its name; GetAtt Arn its ARN (used in on-failure records).
            name = template.default_physical_name(logical_id)
            arn = f"arn:aws:lambda:{self.clients.region}:{LOCAL_ACCOUNT_ID}:function:{name}"
            template.physical[logical_id] = PhysicalResource(ref=name, attributes={"Arn": arn})

    def _name_event_apis(self) -> None:
        """AppSync Events is not on moto: the template's Event API and its namespaces stand for
        the local endpoint, which serves both the HTTP publish and the WebSocket."""
        template = self.template
        region, account = self.clients.region, LOCAL_ACCOUNT_ID
        for logical_id in template.logical_ids(EVENT_API):
            api_arn = f"arn:aws:appsync:{region}:{account}:apis/{LOCAL_EVENT_API_ID}"
            template.physical[logical_id] = PhysicalResource(
                ref=api_arn,
                attributes={
                    "ApiId": LOCAL_EVENT_API_ID,
                    "ApiArn": api_arn,
                    "Dns.Http": self.realtime_endpoint,
                    "Dns.Realtime": self.realtime_endpoint,
                },
            )
        for logical_id in template.logical_ids(CHANNEL_NAMESPACE):
            name = str(template.properties(logical_id)["Name"])
            arn = f"arn:aws:appsync:{region}:{account}:apis/{LOCAL_EVENT_API_ID}/channelNamespace/{name}"
            template.physical[logical_id] = PhysicalResource(ref=arn, attributes={"ChannelNamespaceArn": arn})

    def _create_table(self, logical_id: str) -> None:
        request = create_table_request(self.template, logical_id)
        dynamodb = self.clients("dynamodb")
        description = dynamodb.create_table(**request)["TableDescription"]
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        ttl_attribute = table_ttl_attribute(self.template, logical_id)
        if ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=request["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )
            self.ttl_attributes[logical_id] = ttl_attribute
        self.template.physical[logical_id] = PhysicalResource(ref=request["TableName"], attributes=attributes)

    def _create_queue(self, logical_id: str) -> None:
        request = create_queue_request(self.template, logical_id)
        sqs = self.clients("sqs")
        url = sqs.create_queue(**request)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.template.physical[logical_id] = PhysicalResource(
            ref=url, attributes={"Arn": arn, "QueueUrl": url, "QueueName": request["QueueName"]}
        )

    def _verify_sender_identity(self) -> None:
        """SES only sends from a verified identity: verify the SenderEmail the sender gets."""
        if "SenderEmail" not in self.template.parameters:
            return
        self.sender_identity = self.template.parameters["SenderEmail"]
        self.clients("sesv2").create_email_identity(EmailIdentity=self.sender_identity)

    # -- Lookups --------------------------------------------------------------------------------
    def ref(self, logical_id: str) -> str:
        return self.template.physical[logical_id].ref

    def attribute(self, logical_id: str, name: str) -> str:
        return self.template.physical[logical_id].attributes[name]

    def queue_url_for_arn(self, arn: str) -> str:
        for resource in self.template.physical.values():
            if resource.attributes.get("Arn") == arn and "QueueUrl" in resource.attributes:
                return resource.attributes["QueueUrl"]
        raise UnsupportedTemplate(f"{arn}: not a queue of the local stack")

    def table_for_stream(self, stream_arn: str) -> str:
        for logical_id in self.template.logical_ids(TABLE):
            if self.template.physical[logical_id].attributes.get("StreamArn") == stream_arn:
                return logical_id
        raise UnsupportedTemplate(f"{stream_arn}: not a table stream of the local stack")

    def function_environment(self, logical_id: str) -> dict[str, str]:
        environment = self.template.function_environment(logical_id)
        # The template says https://<Dns.Http>/event; the local endpoint speaks plain HTTP on
        # loopback (there is no certificate to trust), so its URLs are rewritten to http.
        secure, plain = f"https://{self.realtime_endpoint}/", f"http://{self.realtime_endpoint}/"
        return {name: value.replace(secure, plain) for name, value in environment.items()}

    def on_subscribe_function(self, namespace_logical_id: str) -> str | None:
        """The function a channel namespace's OnSubscribe handler invokes directly, followed from
        the template: namespace -> HandlerConfigs.OnSubscribe -> data source -> Lambda function."""
        handler = (self.template.properties(namespace_logical_id).get("HandlerConfigs") or {}).get(
            "OnSubscribe"
        ) or {}
        source = _get_att_target((handler.get("Integration") or {}).get("DataSourceName"))
        if handler.get("Behavior") != "DIRECT" or source is None:
            return None
        lambda_config = self.template.properties(source).get("LambdaConfig") or {}
        return _get_att_target(lambda_config.get("LambdaFunctionArn"))

    def channel_namespaces(self) -> list[str]:
        return self.template.logical_ids(CHANNEL_NAMESPACE)

    def function_arn(self, logical_id: str) -> str:
        return self.attribute(logical_id, "Arn")

    # -- Event source mappings ------------------------------------------------------------------
    def stream_mappings(self) -> list[StreamMappingConfig]:
        mappings = []
        for function in self.template.logical_ids(FUNCTION):
            for event, raw in self.template.function_events(function, "DynamoDB").items():
                props = self.template.resolve(dict(raw))
                on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                    "Destination"
                )
                mappings.append(
                    StreamMappingConfig(
                        function=function,
                        event=event,
                        table=self.table_for_stream(props["Stream"]),
                        stream_arn=props["Stream"],
                        starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
                        batch_size=int(props.get("BatchSize", 100)),
                        batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                        filters=FilterCriteria.from_template(props.get("FilterCriteria")),
                        bisect_on_error=_true(props.get("BisectBatchOnFunctionError", False)),
                        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                        maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
                        report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES
                        in (props.get("FunctionResponseTypes") or []),
                        on_failure_queue_url=self.queue_url_for_arn(on_failure) if on_failure else None,
                    )
                )
        return mappings

    def queue_mappings(self) -> list[QueueMappingConfig]:
        mappings = []
        for function in self.template.logical_ids(FUNCTION):
            for event, raw in self.template.function_events(function, "SQS").items():
                props = self.template.resolve(dict(raw))
                url = self.queue_url_for_arn(props["Queue"])
                attributes = self.clients("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                    "Attributes"
                ]
                redrive = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
                mappings.append(
                    QueueMappingConfig(
                        function=function,
                        event=event,
                        queue_url=url,
                        queue_arn=props["Queue"],
                        fifo=url.endswith(".fifo"),
                        batch_size=int(props.get("BatchSize", 10)),
                        batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                        filters=FilterCriteria.from_template(props.get("FilterCriteria")),
                        report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES
                        in (props.get("FunctionResponseTypes") or []),
                        visibility_timeout_seconds=int(attributes.get("VisibilityTimeout", 30)),
                        max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
                        dead_letter_queue_url=self.queue_url_for_arn(redrive["deadLetterTargetArn"])
                        if redrive
                        else None,
                    )
                )
        return mappings


def _get_att_target(value: Any) -> str | None:
    """``X`` of ``{"Fn::GetAtt": ["X", ...]}`` (or ``"X.Attr"``)."""
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0])
    return None


def _true(value: Any) -> bool:
    return value in (True, "true", "True")
