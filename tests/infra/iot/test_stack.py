"""FleetStack: a gateway may act only as its own thing and publish only as its own store."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from anonflow.contract import metrics
from anonflow.contract.topics import entries_topic, health_topic
from anonflow.edge.runtime.health import health_message
from anonflow.edge.runtime.sender import SenderStats
from anonflow.edge.runtime.spool import SpoolStats
from anonflow.edge.runtime.transports.base import TransportStatus
from anonflow.infra.iot.entries_rule import ENTRIES_SQL
from tests.kit.cdk import Assembly, arn_of, grants, logical_id, render, resources, statements_of

ARN = "arn:<Ref AWS::Partition>:iot:<Ref AWS::Region>:<Ref AWS::AccountId>:"
THINGS = {"store-a-gw1": "store-a", "store-a-gw2": "store-a", "store-b-gw1": "store-b"}


def _policy(assembly: Assembly) -> dict[str, Any]:
    (policy,) = resources(assembly.template_json("Fleet"), "AWS::IoT::Policy")
    document: dict[str, Any] = render(policy["Properties"]["PolicyDocument"])
    return document


def allowed(document: dict[str, Any], *, action: str, resource: str, thing: str, client_id: str) -> bool:
    """IoT Core's decision for a thing-attached certificate: substitute the policy variables, match globs.

    Covers what the gateway policy uses (Allow statements, `*` wildcards, the IsAttached condition).
    """
    variables = {
        "${iot:Connection.Thing.ThingName}": thing if client_id == thing else None,
        "${iot:Connection.Thing.Attributes[store_id]}": THINGS.get(thing) if client_id == thing else None,
    }
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] != "Allow" or action not in actions:
            continue
        condition = statement.get("Condition", {}).get("Bool", {})
        if condition.get("iot:Connection.Thing.IsAttached") == "true" and client_id != thing:
            continue
        patterns = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for pattern in patterns:
            unresolved = any(v is None and k in pattern for k, v in variables.items())
            if unresolved:
                continue  # an unresolvable variable makes the statement not match
            resolved = pattern
            for name, value in variables.items():
                resolved = resolved.replace(name, str(value))
            # IoT policy wildcards: `*` matches any characters, `/` included, as fnmatch's does.
            if fnmatch.fnmatchcase(resource, resolved):
                return True
    return False


@pytest.mark.parametrize(
    ("thing", "client_id", "action", "resource", "expected"),
    [
        ("store-a-gw1", "store-a-gw1", "iot:Connect", "client/store-a-gw1", True),
        ("store-a-gw1", "store-a-gw2", "iot:Connect", "client/store-a-gw2", False),  # someone else's id
        ("store-a-gw1", "store-a-gw1", "iot:Connect", "client/store-b-gw1", False),
        ("store-a-gw1", "store-a-gw1", "iot:Publish", f"topic/{entries_topic('store-a', 'cam-1')}", True),
        ("store-a-gw2", "store-a-gw2", "iot:Publish", f"topic/{entries_topic('store-a', 'entrance')}", True),
        ("store-a-gw1", "store-a-gw1", "iot:Publish", f"topic/{entries_topic('store-b', 'cam-1')}", False),
        ("store-b-gw1", "store-b-gw1", "iot:Publish", f"topic/{entries_topic('store-a', 'cam-1')}", False),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:Publish",
            f"topic/{health_topic('store-a', 'store-a-gw1')}",
            True,
        ),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:Publish",
            f"topic/{health_topic('store-a', 'store-a-gw2')}",
            False,
        ),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:Publish",
            f"topic/{health_topic('store-b', 'store-a-gw1')}",
            False,
        ),
        ("store-a-gw1", "store-a-gw1", "iot:Publish", "topic/anonflow/v1/store-a/cam-1/commands", False),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:Subscribe",
            f"topicfilter/{entries_topic('store-a', 'cam-1')}",
            False,
        ),
        ("store-a-gw1", "store-a-gw1", "iot:Receive", f"topic/{entries_topic('store-b', 'cam-1')}", False),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:Subscribe",
            "topicfilter/$aws/things/store-a-gw1/shadow/get/accepted",
            True,
        ),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:Subscribe",
            "topicfilter/$aws/things/store-b-gw1/shadow/get/accepted",
            False,
        ),
        ("store-a-gw1", "store-a-gw1", "iot:UpdateThingShadow", "thing/store-a-gw1", True),
        ("store-a-gw1", "store-a-gw1", "iot:UpdateThingShadow", "thing/store-b-gw1", False),
        ("store-a-gw1", "store-a-gw1", "greengrass:GetDeploymentConfiguration", "thing/store-b-gw1", False),
        (
            "store-a-gw1",
            "store-a-gw1",
            "iot:AssumeRoleWithCertificate",
            "rolealias/anonflow-test-token-exchange",
            True,
        ),
        ("store-a-gw1", "store-a-gw1", "iot:AssumeRoleWithCertificate", "rolealias/admin", False),
        ("store-a-gw1", "store-a-gw1", "iot:DeleteThing", "thing/store-a-gw1", False),
    ],
)
def test_gateway_policy_decisions(
    assembly: Assembly, thing: str, client_id: str, action: str, resource: str, expected: bool
) -> None:
    decision = allowed(
        _policy(assembly), action=action, resource=ARN + resource, thing=thing, client_id=client_id
    )
    assert decision is expected


def test_gateway_policy_has_no_unscoped_iot_statement(assembly: Assembly) -> None:
    for statement in _policy(assembly)["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith("*") for a in actions), statement
        if any(a.startswith("iot:") for a in actions):
            resources_ = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for resource in resources_:
                assert "${iot:Connection.Thing." in resource or "rolealias/" in resource, statement


def test_each_gateway_thing_carries_its_store(assembly: Assembly) -> None:
    things = resources(assembly.template_json("Fleet"), "AWS::IoT::Thing")
    declared = {
        t["Properties"]["ThingName"]: t["Properties"]["AttributePayload"]["Attributes"] for t in things
    }
    assert declared == {thing: {"store_id": store} for thing, store in THINGS.items()}
    (group,) = resources(assembly.template_json("Fleet"), "AWS::IoT::ThingGroup")
    assert group["Properties"]["ThingGroupName"] == "anonflow-test-gateways"


def _rule(assembly: Assembly, suffix: str) -> dict[str, Any]:
    rules = resources(assembly.template_json("Fleet"), "AWS::IoT::TopicRule")
    (rule,) = [r for r in rules if r["Properties"]["RuleName"].endswith(suffix)]
    payload: dict[str, Any] = render(rule["Properties"]["TopicRulePayload"])
    return payload


def test_entries_rule_routes_to_stream_and_archive_and_keeps_failures(assembly: Assembly) -> None:
    payload = _rule(assembly, "_entries")
    assert (
        payload["Sql"]
        == ENTRIES_SQL
        == (
            "SELECT topic(3) AS topic_store_id, encode(*, 'base64') AS payload_base64 "
            "FROM 'anonflow/v1/+/+/entries'"
        )
    )
    assert payload["RuleDisabled"] is False
    kinesis, firehose = payload["Actions"]
    assert kinesis["Kinesis"]["PartitionKey"] == "${topic(3)}/${topic(4)}"
    data = assembly.stacks.data
    assert logical_id(data.entry_stream) in kinesis["Kinesis"]["StreamName"]  # imported from the Data stack
    assert firehose["Firehose"]["Separator"] == "\n"
    assert logical_id(data.raw_archive) in firehose["Firehose"]["DeliveryStreamName"]
    error = payload["ErrorAction"]["S3"]
    assert error["Key"].startswith("rule-errors/anonflow_test_entries/date=")
    assert logical_id(data.raw_bucket) in error["BucketName"]


def test_health_rule_publishes_one_metric_per_gateway_metric(assembly: Assembly) -> None:
    payload = _rule(assembly, "_health")
    assert payload["Sql"] == (
        "SELECT spool_depth, spool_age_s, evicted_entries, cameras_down FROM 'anonflow/v1/+/+/health'"
    )
    published = [a["CloudwatchMetric"] for a in payload["Actions"]]
    assert [
        (m["MetricName"], m["MetricValue"], m["MetricUnit"], m["MetricNamespace"]) for m in published
    ] == [
        (spec.name, f"${{{spec.health_field}}}", spec.unit, "Anonflow/test")
        for spec in metrics.GATEWAY_METRICS
    ]
    assert payload["ErrorAction"]["S3"]["Key"].startswith("rule-errors/anonflow_test_health/")


def test_token_exchange_role_is_limited_to_artifacts_audit_logs_and_store_secrets(assembly: Assembly) -> None:
    data, fleet = assembly.stacks.data, assembly.stacks.fleet
    template = assembly.template_json("Fleet")
    role = template["Resources"][logical_id(fleet.token_exchange.role)]
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "credentials.iot.amazonaws.com"}
    assert fleet.store_secrets is not None
    secrets = {f"secret:{store}": secret for store, secret in fleet.store_secrets.secrets.items()}
    names = {"artifacts": data.artifacts_bucket, "audit": data.audit_bucket, "key": data.key, **secrets}
    allowed_pairs = grants(statements_of(template, fleet.token_exchange.role), names)
    log_groups = (
        "arn:<Ref AWS::Partition>:logs:<Ref AWS::Region>:<Ref AWS::AccountId>:log-group:/aws/greengrass/*"
    )
    assert {resource for _, resource in allowed_pairs} == {
        "{artifacts}",
        "{artifacts}/greengrass/*",
        "{audit}/${credentials-iot:ThingName}/*",
        "{key}",
        log_groups,
        "{secret:store-a}",
        "{secret:store-b}",
    }
    # The stores' appearance secrets: read, nothing else (the secret manager component fetches them).
    assert {a for a, r in allowed_pairs if r.startswith("{secret:")} == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    object_reads = {r for a, r in allowed_pairs if a == "s3:GetObject*"}
    writes = {r for a, r in allowed_pairs if a.startswith(("s3:Put", "s3:Delete"))}
    assert object_reads == {"{artifacts}", "{artifacts}/greengrass/*"}
    assert writes == {"{audit}/${credentials-iot:ThingName}/*"}  # each gateway under its own name only
    assert {a for a, r in allowed_pairs if r == log_groups} == {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogStreams",
    }
    (alias,) = resources(template, "AWS::IoT::RoleAlias")
    assert alias["Properties"]["RoleAlias"] == "anonflow-test-token-exchange"
    assert render(alias["Properties"]["RoleArn"]) == arn_of(fleet.token_exchange.role)


def test_entries_rule_role_writes_only_its_targets(assembly: Assembly) -> None:
    data = assembly.stacks.data
    names = {
        "stream": data.entry_stream,
        "archive": data.raw_archive,
        "raw": data.raw_bucket,
        "key": data.key,
    }
    template = assembly.template_json("Fleet")
    allowed_pairs = grants(statements_of(template, assembly.stacks.fleet.entries_rule.role), names)
    assert {("kinesis:PutRecord", "{stream}"), ("kinesis:PutRecords", "{stream}")} <= allowed_pairs
    assert {("firehose:PutRecord", "{archive}"), ("firehose:PutRecordBatch", "{archive}")} <= allowed_pairs
    assert {r for _, r in allowed_pairs} == {
        "{stream}",
        "{archive}",
        "{raw}/rule-errors/anonflow_test_entries/*",
        "{key}",
    }
    assert not any(
        a.startswith(("kinesis:Get", "s3:Get", "firehose:Delete", "iot:")) for a, _ in allowed_pairs
    )


def test_health_rule_role_puts_metrics_only_in_its_namespace(assembly: Assembly) -> None:
    template = assembly.template_json("Fleet")
    statements = statements_of(template, assembly.stacks.fleet.health_rule.role)
    (put_metric,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert put_metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": metrics.namespace("test")}}


def test_the_gateways_health_message_carries_every_field_the_rule_reads() -> None:
    """Contract with the edge: the rule's `${field}` substitutions name top-level numbers of the message."""
    message = health_message(
        store_id="store-a",
        gateway_id="store-a-gw1",
        now_s=1_000.0,
        started_s=900.0,
        cameras=[],
        spool=SpoolStats(
            depth=3, bytes=1200, oldest_age_s=12.5, evicted_entries=0, dropped_entries=0, last_seq=9
        ),
        evicted_since_last=0,
        sender=SenderStats(published_messages=1, published_entries=4, publish_failures=0, last_ack_ms=None),
        transport=TransportStatus(kind="greengrass", connected=True, last_error=None, connect_failures=0),
    )
    for spec in metrics.GATEWAY_METRICS:
        assert spec.health_field is not None
        assert isinstance(message[spec.health_field], int | float), spec


def test_each_store_has_a_generated_appearance_secret_under_its_own_key(assembly: Assembly) -> None:
    """Generated by Secrets Manager (no value in the template), encrypted with a rotating key of its own
    that the token exchange role may use only through Secrets Manager, and kept when the stack goes."""
    fleet = assembly.stacks.fleet
    assert fleet.store_secrets is not None
    template = assembly.template_json("Fleet")
    secrets = resources(template, "AWS::SecretsManager::Secret")
    assert sorted(s["Properties"]["Name"] for s in secrets) == [
        "anonflow-test/stores/store-a/appearance",
        "anonflow-test/stores/store-b/appearance",
    ]
    key = logical_id(fleet.store_secrets.key)
    for secret in secrets:
        properties = secret["Properties"]
        assert "SecretString" not in properties
        generated = properties["GenerateSecretString"]
        assert generated["PasswordLength"] >= 32 and generated["ExcludePunctuation"]
        assert render(properties["KmsKeyId"]) == f"<GetAtt {key}.Arn>"
        assert secret["DeletionPolicy"] == "Retain"
    key_resource = template["Resources"][key]
    assert key_resource["Properties"]["EnableKeyRotation"] is True
    role = arn_of(fleet.token_exchange.role)
    uses = [
        st
        for st in render(key_resource["Properties"]["KeyPolicy"]["Statement"])
        if st.get("Principal", {}).get("AWS") == role
    ]
    assert uses and all("kms:ViaService" in str(st.get("Condition")) for st in uses)
