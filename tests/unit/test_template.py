"""What an operator would notice about template.yaml: encryption, queue wiring, stream error
handling, least privilege and alarms.

The template is read with the local runtime's loader, which turns CloudFormation short tags
(``!Ref``, ``!GetAtt``, ``!Sub`` ...) into their long-form dictionaries; no AWS tooling is needed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform as sam_transform

from practitioner_alerts.domain.settings import DEFAULT_SMS_COUNTRIES
from practitioner_alerts_local.template import StackContext, Template, load_template

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"

SENDER_TIMEOUT_MULTIPLE = 6  # AWS: SQS visibility timeout >= 6x the consuming function's timeout
DELIVERY_SLA_SECONDS = 600  # an alert reaches the practitioner within 10 minutes


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    # The same reader the local runtime builds its stack with.
    return load_template(TEMPLATE_PATH)


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id].get("Properties", {})
    return properties


def referenced_ids(value: Any) -> set[str]:
    """Every logical ID or parameter a value refers to (Ref, GetAtt, ${X} inside Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, variables = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
                local = set(variables)
                found |= {
                    name.split(".", 1)[0]
                    for name in re.findall(r"\$\{([^}!]+)\}", text)
                    if not name.startswith("AWS::") and name not in local
                }
                found |= referenced_ids(variables)
            else:
                found |= referenced_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= referenced_ids(inner)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def all_statements(template: dict[str, Any], function_id: str) -> Iterator[dict[str, Any]]:
    policies = props(template, function_id).get("Policies", [])
    for policy in as_list(policies):
        assert isinstance(policy, dict), (
            f"{function_id}: use inline policy documents, not managed policies or SAM policy "
            f"templates, so every action and resource is visible here ({policy!r})"
        )
        yield from as_list(policy["Statement"])


def policy_statements(template: dict[str, Any], function_id: str) -> Iterator[dict[str, Any]]:
    """What a function's own policy allows (its Deny statements narrow what SAM adds)."""
    return (s for s in all_statements(template, function_id) if s["Effect"] == "Allow")


def deny_statements(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    return [s for s in all_statements(template, function_id) if s["Effect"] == "Deny"]


def allowed_actions_on(template: dict[str, Any], function_id: str, logical_id: str) -> set[str]:
    actions: set[str] = set()
    for statement in policy_statements(template, function_id):
        if statement["Effect"] == "Allow" and logical_id in referenced_ids(statement["Resource"]):
            actions |= set(as_list(statement["Action"]))
    return actions


def function_timeout(template: dict[str, Any], function_id: str) -> int:
    own = props(template, function_id).get("Timeout")
    return int(own if own is not None else template["Globals"]["Function"]["Timeout"])


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
    }


def alarms_on(template: dict[str, Any], metric: str, target_id: str) -> list[dict[str, Any]]:
    return [
        alarm
        for alarm in alarms(template).values()
        if alarm["MetricName"] == metric and target_id in referenced_ids(alarm["Dimensions"])
    ]


FUNCTIONS = ("DetectorFunction", "SenderFunction", "SettingsApiFunction", "DeliveryEventsFunction")
TABLES = (
    "AppointmentsTable",
    "CalendarSettingsTable",
    "IdempotencyTable",
    "AlertsFeedTable",
    "DeliveryLogTable",
)
DEAD_LETTER_QUEUES = ("NotificationDeadLetterQueue", "StreamDeadLetterQueue")


# ------------------------------------------------------------------------------------------------
# Shape the local runtime and the application code rely on
# ------------------------------------------------------------------------------------------------
def test_sam_transform_and_function_globals(template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    # Ours, then AWS's Powertools layer (Powertools, pydantic, X-Ray SDK) for the same runtime and
    # architecture, or with PowertoolsLayer=bundled the same built by sam build (for sam local);
    # see docs/architecture.md, "Layer size", and tests/unit/test_layer_build.py.
    assert function_globals["Layers"] == [
        {"Ref": "SharedLayer"},
        {"Fn::If": ["BundlesPowertools", {"Ref": "PowertoolsBundleLayer"}, {"Ref": "PowertoolsLayerArn"}]},
    ]
    assert template["Parameters"]["PowertoolsLayer"]["Default"] == "managed"
    assert template["Resources"]["PowertoolsBundleLayer"]["Condition"] == "BundlesPowertools"
    powertools = template["Parameters"]["PowertoolsLayerArn"]
    assert powertools["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert re.fullmatch(
        r"/aws/service/powertools/python/arm64/python3\.13/\d+\.\d+\.\d+", powertools["Default"]
    )
    env = function_globals["Environment"]["Variables"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "PractitionerAlerts"
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"} <= env.keys()


def test_expected_resources_exist(template: dict[str, Any]) -> None:
    expected = {
        "AppointmentsTable": "AWS::DynamoDB::Table",
        "CalendarSettingsTable": "AWS::DynamoDB::Table",
        "IdempotencyTable": "AWS::DynamoDB::Table",
        "AlertsFeedTable": "AWS::DynamoDB::Table",
        "NotificationQueue": "AWS::SQS::Queue",
        "NotificationDeadLetterQueue": "AWS::SQS::Queue",
        "StreamDeadLetterQueue": "AWS::SQS::Queue",
        "SharedLayer": "AWS::Serverless::LayerVersion",
        "DetectorFunction": "AWS::Serverless::Function",
        "SenderFunction": "AWS::Serverless::Function",
        "SesConfigurationSetResource": "AWS::SES::ConfigurationSet",
        "AlarmTopic": "AWS::SNS::Topic",
    }
    actual = {logical_id: res["Type"] for logical_id, res in template["Resources"].items()}
    assert {k: actual.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("table_id", "keys", "ttl_attribute"),
    [
        ("AppointmentsTable", {"appointment_id": "HASH"}, "expires_at"),
        # Only the pending verification codes carry expires_at.
        ("CalendarSettingsTable", {"calendar_id": "HASH"}, "expires_at"),
        ("IdempotencyTable", {"id": "HASH"}, "expiration"),
        ("AlertsFeedTable", {"calendar_id": "HASH", "alert_id": "RANGE"}, "expires_at"),
    ],
)
def test_table_keys_and_ttl(
    template: dict[str, Any], table_id: str, keys: dict[str, str], ttl_attribute: str | None
) -> None:
    table = props(template, table_id)
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == keys
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == dict.fromkeys(
        keys, "S"
    )
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    ttl = table.get("TimeToLiveSpecification")
    if ttl_attribute is None:
        assert ttl is None
    else:
        assert ttl == {"AttributeName": ttl_attribute, "Enabled": True}


def test_layer_builds_for_arm64_python313(template: dict[str, Any]) -> None:
    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shared"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # layers/shared/Makefile installs arm64 wheels and prunes; see tests/unit/test_layer_build.py.
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"].get("BuildArchitecture", "arm64") == "arm64"
    assert (TEMPLATE_PATH.parent / "layers/shared/requirements.txt").is_file()


@pytest.mark.parametrize(
    ("function_id", "code_uri", "expected_env"),
    [
        (
            "DetectorFunction",
            "functions/detector",
            {
                "SETTINGS_TABLE_NAME": {"Ref": "CalendarSettingsTable"},
                "NOTIFICATION_QUEUE_URL": {"Fn::GetAtt": ["NotificationQueue", "QueueUrl"]},
                "STREAM_DEAD_LETTER_QUEUE_URL": {"Fn::GetAtt": ["StreamDeadLetterQueue", "QueueUrl"]},
                "SHORT_NOTICE_WINDOW_HOURS": {"Ref": "ShortNoticeWindowHours"},
                "SETTINGS_CACHE_SECONDS": "0",
                "ALERTS_FEED_ENABLED": "true",
            },
        ),
        (
            "SenderFunction",
            "functions/sender",
            {
                "IDEMPOTENCY_TABLE_NAME": {"Ref": "IdempotencyTable"},
                "NOTIFICATION_DEAD_LETTER_QUEUE_URL": {
                    "Fn::GetAtt": ["NotificationDeadLetterQueue", "QueueUrl"]
                },
                "ALERTS_FEED_TABLE_NAME": {"Ref": "AlertsFeedTable"},
                "SENDER_EMAIL": {"Ref": "SenderEmail"},
                "SES_CONFIGURATION_SET": {"Ref": "SesConfigurationSetResource"},
                "SMS_SENDER_ID": {"Ref": "SmsSenderId"},
                "ALERT_FEED_DAYS": "30",
            },
        ),
    ],
)
def test_function_code_and_environment(
    template: dict[str, Any], function_id: str, code_uri: str, expected_env: dict[str, Any]
) -> None:
    function = props(template, function_id)
    assert function["CodeUri"] == code_uri
    assert function["Handler"] == "app.handler"
    env = function["Environment"]["Variables"]
    assert {name: env.get(name) for name in expected_env} == expected_env


def test_parameters(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert params["Stage"]["AllowedValues"] == ["dev", "prod"]
    assert params["Stage"]["Default"] == "dev"
    assert params["SesConfigurationSet"]["Default"] == "practitioner-alerts"
    window = params["ShortNoticeWindowHours"]
    assert (window["Type"], window["Default"], window["MinValue"], window["MaxValue"]) == (
        "Number",
        24,
        1,
        168,
    )
    assert params["AlarmEmail"]["Default"] == ""
    sender_id = re.compile(params["SmsSenderId"]["AllowedPattern"])
    assert sender_id.fullmatch(params["SmsSenderId"]["Default"])
    assert sender_id.fullmatch("Praxis2025")
    for bad in ("", "TwelveChars1", "Dr. Smith", "12345"):
        assert not sender_id.fullmatch(bad), bad


# ------------------------------------------------------------------------------------------------
# Encryption and the appointments stream
# ------------------------------------------------------------------------------------------------
def test_every_table_is_encrypted(template: dict[str, Any]) -> None:
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    assert set(tables) == set(TABLES)
    for logical_id, table in tables.items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, logical_id


def test_tables_holding_source_data_have_point_in_time_recovery(template: dict[str, Any]) -> None:
    for logical_id in ("AppointmentsTable", "CalendarSettingsTable"):
        pitr = props(template, logical_id)["PointInTimeRecoverySpecification"]
        assert pitr["PointInTimeRecoveryEnabled"] is True, logical_id


def test_appointments_stream_carries_old_and_new_images(template: dict[str, Any]) -> None:
    stream = props(template, "AppointmentsTable")["StreamSpecification"]
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_every_queue_and_topic_is_encrypted(template: dict[str, Any]) -> None:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    assert set(queues) == {"NotificationQueue", *DEAD_LETTER_QUEUES}
    for logical_id, queue in queues.items():
        p = queue["Properties"]
        assert p.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in p, logical_id
    for logical_id, topic in resources_of_type(template, "AWS::SNS::Topic").items():
        assert "KmsMasterKeyId" in topic["Properties"], logical_id


# ------------------------------------------------------------------------------------------------
# Queues
# ------------------------------------------------------------------------------------------------
def test_notification_queue_is_fifo_with_fifo_dead_letter_queue(template: dict[str, Any]) -> None:
    queue = props(template, "NotificationQueue")
    assert queue["FifoQueue"] is True
    # The detector supplies MessageDeduplicationId; content-based dedup would merge distinct alerts.
    assert queue["ContentBasedDeduplication"] is False
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}
    assert 1 < redrive["maxReceiveCount"] <= 10
    assert props(template, "NotificationDeadLetterQueue")["FifoQueue"] is True
    # Messages must outlive their trip through the DLQ: DLQ retention > source retention.
    assert (
        props(template, "NotificationDeadLetterQueue")["MessageRetentionPeriod"]
        > queue["MessageRetentionPeriod"]
    )


def test_the_sender_parks_a_message_at_the_receive_sqs_would_dead_letter_it_at(
    template: dict[str, Any],
) -> None:
    # One receive later SQS would move it without a reason; the sender parks it with one.
    max_receives = props(template, "NotificationQueue")["RedrivePolicy"]["maxReceiveCount"]
    env = props(template, "SenderFunction")["Environment"]["Variables"]
    assert int(env["NOTIFICATION_MAX_RECEIVES"]) == max_receives


def test_configuration_errors_page_the_operator(template: dict[str, Any]) -> None:
    alarm = props(template, "SenderConfigurationErrorsAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("PractitionerAlerts", "ConfigurationErrors")
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": service}]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_visibility_timeout_covers_sender_retries(template: dict[str, Any]) -> None:
    visibility = props(template, "NotificationQueue")["VisibilityTimeout"]
    assert visibility >= SENDER_TIMEOUT_MULTIPLE * function_timeout(template, "SenderFunction")


def test_stream_dead_letter_queue_is_standard(template: dict[str, Any]) -> None:
    # Lambda's on-failure destination for stream event sources cannot be a FIFO queue.
    assert not props(template, "StreamDeadLetterQueue").get("FifoQueue", False)
    assert props(template, "StreamDeadLetterQueue")["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_sender_consumes_notification_queue_with_partial_batch_responses(template: dict[str, Any]) -> None:
    events = props(template, "SenderFunction")["Events"]
    event = events["NotificationQueueEvent"]
    assert event["Type"] == "SQS"
    source = event["Properties"]
    assert source["Queue"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BatchSize"] <= 10  # FIFO event source maximum
    assert "MaximumBatchingWindowInSeconds" not in source  # not allowed for FIFO queues


# ------------------------------------------------------------------------------------------------
# Stream event source error handling
# ------------------------------------------------------------------------------------------------
def test_stream_event_source_contains_poison_records(template: dict[str, Any]) -> None:
    event = props(template, "DetectorFunction")["Events"]["AppointmentStream"]
    assert event["Type"] == "DynamoDB"
    source = event["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["AppointmentsTable", "StreamArn"]}
    assert source["StartingPosition"] == "TRIM_HORIZON"
    assert source["BisectBatchOnFunctionError"] is True
    # Retries are bounded by the records' age: a count runs out in seconds, since Lambda retries
    # a failed batch at once, and loses alerts to a short throttle (make chaos found it).
    assert source["MaximumRetryAttempts"] == -1
    assert 60 <= source["MaximumRecordAgeInSeconds"] <= 3600
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    on_failure = source["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert on_failure["Destination"] == {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}


# ------------------------------------------------------------------------------------------------
# Least privilege
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_no_wildcard_actions(template: dict[str, Any], function_id: str) -> None:
    statements = list(policy_statements(template, function_id))
    assert statements, f"{function_id} has no inline policy"
    for statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{function_id}: wildcard action {action!r}"


@pytest.fixture(scope="module")
def transformed(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Any]:
    """The template as CloudFormation gets it after SAM's transform (as `sam deploy` sends it)."""
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    document = load_template(TEMPLATE_PATH)
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        for uri in ("CodeUri", "ContentUri"):  # `sam package` puts the code in S3 first
            if uri in properties:
                properties[uri] = "s3://artifacts/code.zip"

    class NoManagedPolicyLookup:
        def load(self) -> dict[str, str]:
            return {}

    parameters = {"SenderEmail": "alerts@example.com", "JwtIssuer": "https://issuer", "JwtAudience": "a"}
    result: dict[str, Any] = sam_transform(document, parameters, NoManagedPolicyLookup())
    return result


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


MANAGED = "arn:aws:iam::aws:policy/"
# What SAM attaches to every function, and why each is acceptable: logs to the function's own
# log group (CreateLogGroup/PutLogEvents on "*" in AWS's policy, but LoggingConfig names ours) and
# X-Ray segments (write-only, no data read).
EVERY_FUNCTION = {f"{MANAGED}service-role/AWSLambdaBasicExecutionRole", f"{MANAGED}AWSXrayWriteOnlyAccess"}
# Each event source's policy, with the wildcard actions in it (Resource "*") and the Deny that
# keeps them to our own resource.
EVENT_SOURCE_POLICIES = {
    "SenderFunction": (
        f"{MANAGED}service-role/AWSLambdaSQSQueueExecutionRole",
        {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        {"Fn::GetAtt": ["NotificationQueue", "Arn"]},
    ),
    "DetectorFunction": (
        f"{MANAGED}service-role/AWSLambdaDynamoDBExecutionRole",
        # dynamodb:ListStreams has no resource to scope to; it lists stream ARNs, no records.
        {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
        {"Fn::GetAtt": ["AppointmentsTable", "StreamArn"]},
    ),
}


@pytest.mark.parametrize("function_id", [*FUNCTIONS, "RealtimeSubscribeFunction"])
def test_the_deployed_roles_carry_only_the_managed_policies_accounted_for(
    template: dict[str, Any], transformed: dict[str, Any], function_id: str
) -> None:
    role = transformed["Resources"][f"{function_id}Role"]["Properties"]
    expected = set(EVERY_FUNCTION)
    if function_id in EVENT_SOURCE_POLICIES:
        policy, wildcards, own = EVENT_SOURCE_POLICIES[function_id]
        expected.add(policy)
        (deny,) = [s for s in deny_statements(template, function_id) if s.get("NotResource") == own]
        assert set(as_list(deny["Action"])) >= wildcards
    assert set(role["ManagedPolicyArns"]) == expected


def test_the_sender_may_publish_to_phone_numbers_but_to_no_topic(template: dict[str, Any]) -> None:
    denied = [s for s in deny_statements(template, "SenderFunction") if s["Action"] == "sns:Publish"]
    assert [s["Resource"] for s in denied] == [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}]


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_only_sns_publish_has_a_wildcard_resource(template: dict[str, Any], function_id: str) -> None:
    for statement in policy_statements(template, function_id):
        for resource in as_list(statement["Resource"]):
            literal = resource if isinstance(resource, str) else ""
            if literal == "*":
                assert as_list(statement["Action"]) == ["sns:Publish"], statement
            else:
                # No hand-written ARN patterns such as ".../identity/*" or "table/*".
                assert not literal.endswith("*"), statement
                sub = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
                sub_text = sub if isinstance(sub, str) else sub[0]
                assert "*" not in sub_text, statement


def test_detector_permissions_are_exactly_what_it_needs(template: dict[str, Any]) -> None:
    touched = set()
    for statement in policy_statements(template, "DetectorFunction"):
        touched |= referenced_ids(statement["Resource"])
    assert touched == {"CalendarSettingsTable", "NotificationQueue", "StreamDeadLetterQueue"}
    assert allowed_actions_on(template, "DetectorFunction", "CalendarSettingsTable") == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
    }
    for queue in ("NotificationQueue", "StreamDeadLetterQueue"):
        assert allowed_actions_on(template, "DetectorFunction", queue) == {"sqs:SendMessage"}
    for forbidden in (
        "IdempotencyTable",
        "AlertsFeedTable",
        "NotificationDeadLetterQueue",
        "AppointmentsTable",
    ):
        assert not allowed_actions_on(template, "DetectorFunction", forbidden), forbidden
    wildcard = [s for s in policy_statements(template, "DetectorFunction") if s["Resource"] == "*"]
    assert not wildcard, "the detector needs no Resource '*'"


def test_sender_permissions_are_exactly_what_it_needs(template: dict[str, Any]) -> None:
    touched = set()
    for statement in policy_statements(template, "SenderFunction"):
        touched |= referenced_ids(statement["Resource"])
    assert touched == {
        "IdempotencyTable",
        "AlertsFeedTable",
        "NotificationDeadLetterQueue",
        "NotificationQueue",
        "DeliveryLogTable",
        "SenderEmail",
        "SesConfigurationSetResource",
        "AlertsChannelNamespace",
        "CalendarSettingsTable",
    }
    # Only to look, before each SMS and e-mail, whether the contact is still the calendar's.
    assert allowed_actions_on(template, "SenderFunction", "CalendarSettingsTable") == {"dynamodb:GetItem"}
    assert allowed_actions_on(template, "SenderFunction", "AlertsChannelNamespace") == {
        "appsync:EventPublish"
    }
    assert allowed_actions_on(template, "SenderFunction", "IdempotencyTable") == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert allowed_actions_on(template, "SenderFunction", "AlertsFeedTable") == {"dynamodb:PutItem"}
    assert allowed_actions_on(template, "SenderFunction", "NotificationDeadLetterQueue") == {
        "sqs:SendMessage"
    }
    # To delay, hold or settle its own messages, and to queue a window's SMS digest (a digest
    # queues nothing more: tests/unit/test_sms_digest.py).
    assert allowed_actions_on(template, "SenderFunction", "NotificationQueue") == {
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:SendMessage",
    }
    assert allowed_actions_on(template, "SenderFunction", "DeliveryLogTable") == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    for forbidden in (
        "AppointmentsTable",
        "StreamDeadLetterQueue",
    ):
        assert not allowed_actions_on(template, "SenderFunction", forbidden), forbidden


def test_sender_email_scoped_to_its_identity_and_configuration_set(template: dict[str, Any]) -> None:
    ses = [
        s for s in policy_statements(template, "SenderFunction") if "ses:SendEmail" in as_list(s["Action"])
    ]
    assert len(ses) == 1
    assert as_list(ses[0]["Action"]) == ["ses:SendEmail"]
    subs = [r["Fn::Sub"] for r in as_list(ses[0]["Resource"])]
    texts = [s if isinstance(s, str) else s[0] for s in subs]
    assert any(":identity/${SenderEmail}" in t for t in texts)
    assert any(":configuration-set/${SesConfigurationSetResource}" in t for t in texts)
    assert all(":identity/" in t or ":configuration-set/" in t for t in texts)


# ------------------------------------------------------------------------------------------------
# Alarms
# ------------------------------------------------------------------------------------------------
def _notifies_alarm_topic(alarm: dict[str, Any]) -> bool:
    return {"Ref": "AlarmTopic"} in alarm.get("AlarmActions", [])


@pytest.mark.parametrize("queue_id", DEAD_LETTER_QUEUES)
def test_dead_letter_queue_depth_alarm(template: dict[str, Any], queue_id: str) -> None:
    matching = alarms_on(template, "ApproximateNumberOfMessagesVisible", queue_id)
    assert matching, f"no depth alarm for {queue_id}"
    alarm = matching[0]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["Period"] == 60 and alarm["EvaluationPeriods"] == 1
    assert _notifies_alarm_topic(alarm)


def test_notification_queue_age_alarm_fires_within_the_sla(template: dict[str, Any]) -> None:
    matching = alarms_on(template, "ApproximateAgeOfOldestMessage", "NotificationQueue")
    assert len(matching) == 1
    alarm = matching[0]
    assert alarm["ComparisonOperator"] in {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold"}
    # Worst case the alarm fires Threshold + Period * EvaluationPeriods after the oldest enqueue.
    assert alarm["Threshold"] + alarm["Period"] * alarm["EvaluationPeriods"] <= DELIVERY_SLA_SECONDS
    assert _notifies_alarm_topic(alarm)


def test_detector_iterator_age_alarm(template: dict[str, Any]) -> None:
    matching = alarms_on(template, "IteratorAge", "DetectorFunction")
    assert len(matching) == 1
    assert matching[0]["Threshold"] <= 300_000
    assert _notifies_alarm_topic(matching[0])


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_function_errors_alarm(template: dict[str, Any], function_id: str) -> None:
    matching = alarms_on(template, "Errors", function_id)
    assert len(matching) == 1
    assert matching[0]["Namespace"] == "AWS/Lambda"
    assert _notifies_alarm_topic(matching[0])


def test_every_alarm_notifies_the_alarm_topic(template: dict[str, Any]) -> None:
    for logical_id, alarm in alarms(template).items():
        assert _notifies_alarm_topic(alarm), logical_id


def test_alarm_topic_key_lets_cloudwatch_publish(template: dict[str, Any]) -> None:
    # CloudWatch cannot publish to a topic encrypted with the AWS managed alias/aws/sns key.
    key_ref = props(template, "AlarmTopic")["KmsMasterKeyId"]
    assert key_ref != "alias/aws/sns"
    key_id = next(iter(referenced_ids(key_ref)))
    statements = props(template, key_id)["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert cloudwatch
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(cloudwatch[0]["Action"]))


def test_alarm_email_subscription_is_optional(template: dict[str, Any]) -> None:
    subscriptions = resources_of_type(template, "AWS::SNS::Subscription")
    assert subscriptions
    for subscription in subscriptions.values():
        assert subscription["Condition"] == "HasAlarmEmail"
        assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}


# ------------------------------------------------------------------------------------------------
# Outputs
# ------------------------------------------------------------------------------------------------
def test_outputs_expose_names_urls_and_arns(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    values = [o["Value"] for o in outputs.values()]
    for table in TABLES:
        assert {"Ref": table} in values, table
    for queue in ("NotificationQueue", *DEAD_LETTER_QUEUES):
        assert {"Fn::GetAtt": [queue, "QueueUrl"]} in values, queue
    for function in FUNCTIONS:
        assert {"Fn::GetAtt": [function, "Arn"]} in values, function


# ------------------------------------------------------------------------------------------------
# Settings API (docs/settings-api.md)
# ------------------------------------------------------------------------------------------------
SETTINGS_API_ROUTES = {
    "GET /calendars/{calendar_id}/alert-settings",
    "PUT /calendars/{calendar_id}/alert-settings",
    "PATCH /calendars/{calendar_id}/alert-settings",
    "POST /calendars/{calendar_id}/alert-settings/test",
    "POST /calendars/{calendar_id}/alert-settings/verification",
    "POST /calendars/{calendar_id}/alert-settings/verification/confirm",
    "GET /calendars/{calendar_id}/alerts",
    "POST /calendars/{calendar_id}/alerts/{alert_id}/read",
    "GET /openapi.json",
}


def settings_api_events(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events: dict[str, dict[str, Any]] = props(template, "SettingsApiFunction")["Events"]
    return {f"{e['Properties']['Method']} {e['Properties']['Path']}": e for e in events.values()}


def test_settings_api_function_code_and_environment(template: dict[str, Any]) -> None:
    function = props(template, "SettingsApiFunction")
    assert (function["CodeUri"], function["Handler"]) == ("functions/settings_api", "app.handler")
    assert function["Environment"]["Variables"] == {
        "SETTINGS_TABLE_NAME": {"Ref": "CalendarSettingsTable"},
        "ALERTS_FEED_TABLE_NAME": {"Ref": "AlertsFeedTable"},
        "NOTIFICATION_QUEUE_URL": {"Fn::GetAtt": ["NotificationQueue", "QueueUrl"]},
        "CALENDARS_CLAIM": {"Ref": "CalendarsClaim"},
        "VIEW_CALENDARS_CLAIM": {"Ref": "ViewCalendarsClaim"},
        "TEST_ALERTS_PER_HOUR": {"Ref": "TestAlertsPerHour"},
        "DELIVERY_LOG_TABLE_NAME": {"Ref": "DeliveryLogTable"},
        "VERIFICATION_CODES_PER_HOUR": {"Ref": "VerificationCodesPerHour"},
        "SENDS_PER_SUBJECT_PER_HOUR": {"Ref": "SendsPerSubjectPerHour"},
        "SMS_ALLOWED_COUNTRIES": {"Ref": "SmsAllowedCountries"},
    }
    # API Gateway gives up on an integration after 30 s; the function must answer before that.
    assert function_timeout(template, "SettingsApiFunction") < 30


def test_settings_api_parameters(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert "Default" not in params["JwtIssuer"] and "Default" not in params["JwtAudience"]
    issuer = re.compile(params["JwtIssuer"]["AllowedPattern"])
    assert issuer.fullmatch("https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123")
    assert not issuer.fullmatch("http://insecure.example.com")
    assert params["CalendarsClaim"]["Default"] == "calendars"
    assert params["ViewCalendarsClaim"]["Default"] == "calendars_view"
    assert params["TestAlertsPerHour"]["Type"] == "Number" and params["TestAlertsPerHour"]["Default"] == 3


def test_settings_http_api_requires_a_jwt_from_the_configured_issuer(template: dict[str, Any]) -> None:
    api = template["Resources"]["SettingsHttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert authorizer["JwtConfiguration"] == {
        "issuer": {"Ref": "JwtIssuer"},
        "audience": [{"Ref": "JwtAudience"}],
    }


def test_settings_api_routes_and_only_the_openapi_document_is_public(template: dict[str, Any]) -> None:
    events = settings_api_events(template)
    assert set(events) == SETTINGS_API_ROUTES
    for route, event in events.items():
        assert event["Type"] == "HttpApi", route
        assert event["Properties"]["ApiId"] == {"Ref": "SettingsHttpApi"}, route
        auth = event["Properties"].get("Auth")
        if route == "GET /openapi.json":
            assert auth == {"Authorizer": "NONE"}
        else:
            assert auth is None, f"{route} must use the default JWT authorizer"


def test_settings_api_access_log_carries_no_personal_data(template: dict[str, Any]) -> None:
    settings = props(template, "SettingsHttpApi")["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["SettingsApiAccessLogGroup", "Arn"]}
    for variable in ("sourceIp", "userAgent", "claims", "identity"):
        assert variable not in settings["Format"], variable
    assert "$context.routeKey" in settings["Format"] and "$context.status" in settings["Format"]
    assert props(template, "SettingsHttpApi")["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def test_settings_api_permissions_are_exactly_what_it_needs(template: dict[str, Any]) -> None:
    touched = set()
    for statement in policy_statements(template, "SettingsApiFunction"):
        touched |= referenced_ids(statement["Resource"])
    assert touched == {"CalendarSettingsTable", "AlertsFeedTable", "NotificationQueue", "DeliveryLogTable"}
    assert allowed_actions_on(template, "SettingsApiFunction", "DeliveryLogTable") == {"dynamodb:Query"}
    assert allowed_actions_on(template, "SettingsApiFunction", "CalendarSettingsTable") == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert allowed_actions_on(template, "SettingsApiFunction", "AlertsFeedTable") == {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    }
    assert allowed_actions_on(template, "SettingsApiFunction", "NotificationQueue") == {"sqs:SendMessage"}
    wildcard = [s for s in policy_statements(template, "SettingsApiFunction") if s["Resource"] == "*"]
    assert not wildcard, "the settings API needs no Resource '*'"


def test_settings_api_server_errors_alarm(template: dict[str, Any]) -> None:
    matching = alarms_on(template, "5xx", "SettingsHttpApi")
    assert len(matching) == 1
    assert matching[0]["Namespace"] == "AWS/ApiGateway"
    assert _notifies_alarm_topic(matching[0])


def test_settings_api_url_is_an_output(template: dict[str, Any]) -> None:
    assert "SettingsHttpApi" in referenced_ids(template["Outputs"]["SettingsApiUrl"]["Value"])


def test_delivery_events_function_only_writes_the_delivery_log(template: dict[str, Any]) -> None:
    touched = set()
    for statement in policy_statements(template, "DeliveryEventsFunction"):
        touched |= referenced_ids(statement["Resource"])
    assert touched == {"DeliveryLogTable"}
    assert allowed_actions_on(template, "DeliveryEventsFunction", "DeliveryLogTable") == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    }


def test_bounces_and_failed_sms_reach_the_delivery_events_function(template: dict[str, Any]) -> None:
    destination = props(template, "SesDeliveryEventDestination")["EventDestination"]
    assert {"bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    assert destination["SnsDestination"]["TopicARN"] == {"Ref": "DeliveryEventsTopic"}
    events = props(template, "DeliveryEventsFunction")["Events"]
    assert events["EmailDeliveryEvents"]["Properties"]["Topic"] == {"Ref": "DeliveryEventsTopic"}
    # The group this stack created, or, in a second stack, the owner's group of the same name.
    owned, shared = events["SmsFailureReceipts"]["Properties"]["LogGroupName"]["Fn::If"][1:]
    assert owned == {"Ref": "SmsFailureLogGroup"}
    assert shared == props(template, "SmsFailureLogGroup")["LogGroupName"]
    assert props(template, "DeliveryEventsTopic")["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}


# Properties that name a resource for the whole account and region.
PHYSICAL_NAMES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


def physical_names(stack_name: str, overrides: dict[str, str]) -> set[tuple[str, str]]:
    document = load_template(TEMPLATE_PATH)
    resolved = Template(document, StackContext(stack_name, "eu-central-1", "123456789012"), overrides)
    names = set()
    for resource in document["Resources"].values():
        condition = resource.get("Condition")
        if condition and not resolved.condition(condition):
            continue
        prop = PHYSICAL_NAMES.get(resource["Type"])
        if prop and prop in resource.get("Properties", {}):
            names.add((resource["Type"], str(resolved.resolve(resource["Properties"][prop]))))
    return names


def test_dev_and_prod_deploy_side_by_side_in_one_account_and_region() -> None:
    # As samconfig.toml sets them up, with prod told that dev owns the account-wide SMS receipts.
    config = tomllib.loads((TEMPLATE_PATH.parent / "samconfig.toml").read_text("utf-8"))

    def overrides(env: str) -> dict[str, str]:
        pairs = config[env]["deploy"]["parameters"]["parameter_overrides"]
        return dict(pair.split("=", 1) for pair in pairs)

    dev = physical_names(config["dev"]["deploy"]["parameters"]["stack_name"], overrides("dev"))
    prod = physical_names(
        config["prod"]["deploy"]["parameters"]["stack_name"],
        {**overrides("prod"), "OwnsSmsDeliveryLogs": "false"},
    )
    assert ("AWS::Logs::LogGroup", "sns/eu-central-1/123456789012/DirectPublishToPhoneNumber/Failure") in dev
    assert dev & prod == set()


def test_every_checkov_skip_says_why() -> None:
    skips = [
        line.strip()
        for line in TEMPLATE_PATH.read_text(encoding="utf-8").splitlines()
        if "checkov:skip=" in line
    ]
    assert skips, "the template has no checkov skips to check"
    for skip in skips:
        check, _, reason = skip.partition("checkov:skip=")[2].partition(":")
        assert check.startswith("CKV_"), skip
        assert len(reason.strip()) >= 30, f"{check} is skipped without a reason"


# ------------------------------------------------------------------------------------------------
# Real-time push (AppSync Events)
# ------------------------------------------------------------------------------------------------
def auth_types(modes: list[dict[str, Any]]) -> list[str]:
    return [mode["AuthType"] for mode in modes]


def test_realtime_api_takes_the_settings_api_tokens_and_iam_and_no_api_keys(template: dict[str, Any]) -> None:
    config = props(template, "RealtimeApi")["EventConfig"]
    providers = {p["AuthType"]: p for p in config["AuthProviders"]}
    assert set(providers) == {"OPENID_CONNECT", "AWS_IAM"}
    assert providers["OPENID_CONNECT"]["OpenIDConnectConfig"] == {
        "Issuer": {"Ref": "JwtIssuer"},
        "ClientId": {"Ref": "JwtAudience"},
    }
    assert auth_types(config["ConnectionAuthModes"]) == ["OPENID_CONNECT"]
    assert auth_types(config["DefaultSubscribeAuthModes"]) == ["OPENID_CONNECT"]
    assert auth_types(config["DefaultPublishAuthModes"]) == ["AWS_IAM"]
    assert not resources_of_type(template, "AWS::AppSync::ApiKey")


def test_alerts_namespace_subscribes_with_tokens_publishes_with_iam(template: dict[str, Any]) -> None:
    namespace = props(template, "AlertsChannelNamespace")
    assert namespace["Name"] == "alerts"
    assert namespace["ApiId"] == {"Fn::GetAtt": ["RealtimeApi", "ApiId"]}
    assert auth_types(namespace["SubscribeAuthModes"]) == ["OPENID_CONNECT"]
    assert auth_types(namespace["PublishAuthModes"]) == ["AWS_IAM"]
    # One namespace: nothing else on this API can be published to or subscribed to.
    assert list(resources_of_type(template, "AWS::AppSync::ChannelNamespace")) == ["AlertsChannelNamespace"]


def test_every_subscribe_goes_through_the_on_subscribe_function(template: dict[str, Any]) -> None:
    handlers = props(template, "AlertsChannelNamespace")["HandlerConfigs"]
    assert set(handlers) == {"OnSubscribe"}
    on_subscribe = handlers["OnSubscribe"]
    assert on_subscribe["Behavior"] == "DIRECT"
    assert on_subscribe["Integration"] == {
        "DataSourceName": {"Fn::GetAtt": ["RealtimeSubscribeDataSource", "Name"]},
        "LambdaConfig": {"InvokeType": "REQUEST_RESPONSE"},
    }
    source = props(template, "RealtimeSubscribeDataSource")
    assert source["Type"] == "AWS_LAMBDA"
    assert source["LambdaConfig"] == {
        "LambdaFunctionArn": {"Fn::GetAtt": ["RealtimeSubscribeFunction", "Arn"]}
    }
    assert source["ServiceRoleArn"] == {"Fn::GetAtt": ["RealtimeSubscribeInvokeRole", "Arn"]}
    function = props(template, "RealtimeSubscribeFunction")
    assert (function["CodeUri"], function["Handler"]) == ("functions/realtime_subscribe", "app.handler")


def test_appsync_may_invoke_the_on_subscribe_function_and_nothing_else(template: dict[str, Any]) -> None:
    role = props(template, "RealtimeSubscribeInvokeRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "appsync.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = [st for policy in role["Policies"] for st in as_list(policy["PolicyDocument"]["Statement"])]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["RealtimeSubscribeFunction", "Arn"]},
        }
    ]


def test_only_the_sender_publishes_and_only_to_the_alerts_namespace(template: dict[str, Any]) -> None:
    appsync_statements = [
        (function_id, statement)
        for function_id in (*FUNCTIONS, "RealtimeSubscribeFunction")
        for statement in (
            policy_statements(template, function_id) if props(template, function_id).get("Policies") else []
        )
        if any(str(a).startswith("appsync:") for a in as_list(statement["Action"]))
    ]
    assert [(f, s["Action"], s["Resource"]) for f, s in appsync_statements] == [
        (
            "SenderFunction",
            "appsync:EventPublish",
            {"Fn::GetAtt": ["AlertsChannelNamespace", "ChannelNamespaceArn"]},
        )
    ]


def test_the_on_subscribe_function_reaches_no_aws_service(template: dict[str, Any]) -> None:
    function = props(template, "RealtimeSubscribeFunction")
    assert "Policies" not in function
    assert function["Environment"]["Variables"] == {
        "CALENDARS_CLAIM": {"Ref": "CalendarsClaim"},
        "VIEW_CALENDARS_CLAIM": {"Ref": "ViewCalendarsClaim"},
    }
    assert len(alarms_on(template, "Errors", "RealtimeSubscribeFunction")) == 1


def test_the_sender_knows_where_to_publish(template: dict[str, Any]) -> None:
    env = props(template, "SenderFunction")["Environment"]["Variables"]
    assert env["REALTIME_PUBLISH_URL"] == {"Fn::Sub": "https://${RealtimeApi.Dns.Http}/event"}
    outputs = template["Outputs"]
    assert outputs["RealtimeWebSocketUrl"]["Value"] == {
        "Fn::Sub": "wss://${RealtimeApi.Dns.Realtime}/event/realtime"
    }


def test_sms_go_to_the_eu_eea_switzerland_and_the_uk_unless_configured(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["SmsAllowedCountries"]
    default = parameter["Default"].split(",")
    assert len(default) == 32 and set(default) == DEFAULT_SMS_COUNTRIES
    assert {"DE", "AT", "CH", "GB", "NO", "IS", "LI"} <= set(default)
    assert not {"IM", "GG", "JE", "US", "CU"} & set(default)
    assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"])
    # Both where a number is entered and where an SMS is sent.
    for function in ("SettingsApiFunction", "SenderFunction"):
        variables = props(template, function)["Environment"]["Variables"]
        assert variables["SMS_ALLOWED_COUNTRIES"] == {"Ref": "SmsAllowedCountries"}, function


def test_the_routes_that_send_have_a_smaller_throttle_of_their_own(template: dict[str, Any]) -> None:
    api = props(template, "SettingsHttpApi")
    default = api["DefaultRouteSettings"]
    routes = api["RouteSettings"]
    assert set(routes) <= SETTINGS_API_ROUTES
    for route in (
        "POST /calendars/{calendar_id}/alert-settings/test",
        "POST /calendars/{calendar_id}/alert-settings/verification",
        "POST /calendars/{calendar_id}/alert-settings/verification/confirm",
    ):
        assert routes[route]["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route
        assert routes[route]["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], route
