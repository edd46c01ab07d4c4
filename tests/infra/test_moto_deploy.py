"""The synthesised templates deployed into moto's CloudFormation, then one entry's trip through the cloud.

A moto server on 127.0.0.1 stands in for the AWS account. moto's CloudFormation does not implement some
resource types (Firehose, Glue, Athena, topic rules, thing groups, bucket policies); it skips those,
which the tests check against a known list, so everything moto can create is created for real.
"""

from __future__ import annotations

import ast
import base64
import gzip
import io
import json
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto.cloudformation.parsing import resource_class_from_type
from moto.server import ThreadedMotoServer

from anonflow.cli.main import main as anonflow_main
from anonflow.contract.entry import Entry
from anonflow.contract.routed import RoutedMessage
from anonflow.infra.data import layout
from tests.kit.cdk import Assembly

# Types moto's CloudFormation does not create; anything else in a deployed template must come up.
NOT_IN_MOTO = {
    "AWS::S3::BucketPolicy",
    "AWS::Logs::LogStream",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Athena::WorkGroup",
    "AWS::IoT::ThingGroup",
    "AWS::IoT::TopicRule",
    "AWS::SecretsManager::Secret",  # the stores' appearance secrets: tests/infra/iot checks the template
}
# Processing holds an EKS cluster made of CDK custom resources and nested stacks, which moto cannot run;
# tests/infra/processing checks its template instead.
DEPLOYED = ("Data", "Fleet")
ACCOUNT = "123456789012"  # moto's default account  # Edge needs Lambda code from the CDK assets bucket


@pytest.fixture(scope="module")
def aws(assembly: Assembly) -> Iterator[str]:
    """A moto server and the environment variables any AWS client (boto3, Beam's S3 IO) picks up."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": assembly.config.region,
            "AWS_ENDPOINT_URL": endpoint,
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield endpoint
    server.stop()


def _firehose_value(resource: dict[str, Any], attribute: str | None, region: str, account: str) -> str:
    """What CloudFormation returns for a named delivery stream: its name (Ref) or its ARN (GetAtt Arn)."""
    name = str(resource["Properties"]["DeliveryStreamName"])
    return name if attribute is None else f"arn:aws:firehose:{region}:{account}:deliverystream/{name}"


def _with_secret_arns(value: Any, arns: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and value.get("Ref") in arns:
            return arns[value["Ref"]]
        return {k: _with_secret_arns(v, arns) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_secret_arns(v, arns) for v in value]
    return value


def _for_moto(template: dict[str, Any], *, region: str, account: str) -> tuple[dict[str, Any], set[str]]:
    """The template with three adaptations to moto 5's CloudFormation, and the resource types it skips.

    1. Outputs reading a resource of a type moto skips are dropped (moto raises on them), except for the
       delivery stream, whose name is fixed, so its outputs carry the values CloudFormation would give
       (other stacks import them into IAM policies).
    2. A reference to a Secrets Manager secret (which moto does not create) becomes the ARN it would
       have, so the IAM statements granting it keep their resources.
    3. `AWS::IoT::Thing.AttributePayload` is an object in CloudFormation; moto parses it as a JSON string of
       the API's shape, so it is passed that way (the attributes themselves are unchanged).
    """
    adapted: dict[str, Any] = json.loads(json.dumps(template))
    resources_ = adapted["Resources"]
    skipped = {k for k, v in resources_.items() if resource_class_from_type(v["Type"]) is None}
    outputs: dict[str, Any] = {}
    for name, output in adapted.get("Outputs", {}).items():
        value = output["Value"]
        target = (
            value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0] if isinstance(value, dict) else None
        )
        if target in skipped and resources_[target]["Type"] == "AWS::KinesisFirehose::DeliveryStream":
            attribute = value["Fn::GetAtt"][1] if "Fn::GetAtt" in value else None
            outputs[name] = {
                **output,
                "Value": _firehose_value(resources_[target], attribute, region, account),
            }
        elif not any(f'"{resource}"' in json.dumps(value) for resource in skipped):
            outputs[name] = output
    adapted["Outputs"] = outputs
    secrets = {
        k: f"arn:aws:secretsmanager:{region}:{account}:secret:{resources_[k]['Properties']['Name']}-AbCdEf"
        for k in skipped
        if resources_[k]["Type"] == "AWS::SecretsManager::Secret"
    }
    adapted["Resources"] = resources_ = _with_secret_arns(resources_, secrets)
    for resource in resources_.values():
        if resource["Type"] == "AWS::IoT::Thing" and "AttributePayload" in resource["Properties"]:
            payload = resource["Properties"]["AttributePayload"]
            resource["Properties"]["AttributePayload"] = json.dumps({"attributes": payload["Attributes"]})
    return adapted, {template["Resources"][k]["Type"] for k in skipped}


@pytest.fixture(scope="module")
def stacks(aws: str, assembly: Assembly) -> dict[str, dict[str, str]]:
    """Stack outputs per part, after deploying each part in dependency order."""
    # What `cdk bootstrap` leaves behind and every CDK template checks for.
    boto3.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
    cloudformation = boto3.client("cloudformation")
    outputs: dict[str, dict[str, str]] = {}
    for part in DEPLOYED:
        template, skipped_types = _for_moto(
            assembly.template_json(part), region=assembly.config.region, account=ACCOUNT
        )
        assert skipped_types <= NOT_IN_MOTO, f"{part}: moto skipped {skipped_types - NOT_IN_MOTO}"
        name = f"Anonflow{part}-{assembly.config.name}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # moto warns once per skipped resource type
            cloudformation.create_stack(
                StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
            )
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        outputs[part] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs


def test_buckets_come_up_encrypted_with_the_data_key(stacks: dict[str, dict[str, str]]) -> None:
    s3, kms = boto3.client("s3"), boto3.client("kms")
    (alias,) = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/anonflow-test-data"]
    # (list_keys, not describe_key: moto 5 keeps a CloudFormation key policy as a dict and fails on it)
    (key_arn,) = [k["KeyArn"] for k in kms.list_keys()["Keys"] if k["KeyId"] == alias["TargetKeyId"]]
    for output in (
        "RawBucketName",
        "TablesBucketName",
        "OperatorsBucketName",
        "AuditBucketName",
        "ArtifactsBucketName",
    ):
        bucket = stacks["Data"][output]
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        }
    # Count the stacks' own buckets (the moto server is shared by the session: other tests add theirs).
    cloudformation = boto3.client("cloudformation")
    stack_buckets = {
        r["PhysicalResourceId"]
        for name in (s["StackName"] for s in cloudformation.describe_stacks()["Stacks"])
        if name.startswith("Anonflow")
        for r in cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
        if r.get("ResourceType") == "AWS::S3::Bucket"
    }
    assert len(stack_buckets) == 7
    assert stack_buckets <= {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_stream_comes_up(stacks: dict[str, dict[str, str]], assembly: Assembly) -> None:
    summary = boto3.client("kinesis").describe_stream_summary(StreamName=stacks["Data"]["EntryStreamName"])
    description = summary["StreamDescriptionSummary"]
    assert description["StreamStatus"] == "ACTIVE"
    assert description["OpenShardCount"] == assembly.config.stream.shard_count
    assert description["RetentionPeriodHours"] == assembly.config.stream.retention_hours


def test_roles_come_up_with_their_trust(stacks: dict[str, dict[str, str]]) -> None:
    roles = boto3.client("iam").list_roles()["Roles"]
    trusted = {
        statement["Principal"]["Service"]
        for role in roles
        for statement in role["AssumeRolePolicyDocument"]["Statement"]
    }
    assert {
        "firehose.amazonaws.com",  # raw archive delivery
        "iot.amazonaws.com",  # topic rules
        "credentials.iot.amazonaws.com",  # Greengrass token exchange
    } <= trusted


def test_gateway_things_and_policy_come_up(stacks: dict[str, dict[str, str]]) -> None:
    iot = boto3.client("iot")
    thing = iot.describe_thing(thingName="store-b-gw1")
    assert thing["attributes"] == {"store_id": "store-b"}
    policy = iot.get_policy(policyName=stacks["Fleet"]["GatewayPolicyName"])
    # moto 5 stores a CloudFormation policy document as the Python repr of the resolved object.
    document = ast.literal_eval(policy["policyDocument"])
    connect = next(s for s in document["Statement"] if s["Sid"] == "ConnectAsOwnThing")
    assert (
        connect["Resource"] == f"arn:aws:iot:eu-west-1:{ACCOUNT}:client/${{iot:Connection.Thing.ThingName}}"
    )
    alias = iot.describe_role_alias(roleAlias=stacks["Fleet"]["TokenExchangeRoleAlias"])
    assert alias["roleAliasDescription"]["roleArn"].startswith("arn:aws:iam::")


def _entry(track: str, second: int, group: int) -> dict[str, Any]:
    return Entry.model_validate(
        {
            "schema_version": 2,
            "entry_id": uuid.uuid4().hex,
            "store_id": "store-a",
            "camera_id": "entrance",
            "track_id": track,
            "event_time_ms": 1_795_000_000_000 + second * 1000,  # 2026-11-18, mid-morning UTC
            "foot": {"x": 0.3, "y": 0.9},
            "demographics": {"gender": "unknown", "age_group": "unknown"},
            "appearance_group": group,
            "appearance_groups": 256,
            "producer": {"version": "0.1.0", "pose_model": "test", "attribute_model": "test"},
        }
    ).model_dump(mode="json")


def _routed(topic_store: str, message: list[dict[str, Any]]) -> dict[str, str]:
    """One MQTT message as the entries rule forwards it: NDJSON in base64, with its topic's store id."""
    body = "".join(json.dumps(entry) + "\n" for entry in message).encode()
    return RoutedMessage(
        topic_store_id=topic_store, payload_base64=base64.b64encode(body).decode()
    ).model_dump()


def test_raw_entries_reach_the_tables_through_s3(
    stacks: dict[str, dict[str, str]], assembly: Assembly, capsys: pytest.CaptureFixture[str]
) -> None:
    """Firehose's layout in the raw bucket -> `anonflow pipeline` over S3 -> Parquet where Glue looks."""
    raw, tables = stacks["Data"]["RawBucketName"], stacks["Data"]["TablesBucketName"]
    tracks = [uuid.uuid4().hex[:16] for _ in range(4)]
    # Four people who look different (appearance groups), so re-connection keeps them apart, each seen
    # for a minute at the same time, so the release counts four people (not one coming back).
    # One MQTT payload per line group, as the rule's Firehose action appends "\n" to each: the gateway's
    # NDJSON batch of two entries, then single entries.
    messages = [
        [_entry(tracks[0], 0, 7), _entry(tracks[1], 1, 70)],
        [_entry(tracks[2], 2, 140)],
        [_entry(tracks[3], 3, 210)],
        *(
            [_entry(track, 60 + i, group)]
            for i, (track, group) in enumerate(zip(tracks, (7, 70, 140, 210), strict=True))
        ),
    ]
    # What the entries rule writes (its SQL wraps each message with the store of the topic it came on),
    # so the deployed batch's --require_topic_record reads the archive as it really is.
    lines = [json.dumps(_routed("store-a", message)) for message in messages]
    # Firehose's object name: <prefix><delivery stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>
    name = f"anonflow-test-raw-entries-1-2026-11-18-10-00-00-{uuid.uuid4()}{layout.RAW_FILE_EXTENSION}"
    key = f"{layout.RAW_ENTRIES_PREFIX}date=2026-11-18/{name}"
    s3 = boto3.client("s3")
    s3.put_object(Bucket=raw, Key=key, Body=gzip.compress(("\n".join(lines) + "\n").encode()))

    code = anonflow_main(
        [
            "pipeline",
            "--input",
            f"s3://{raw}/{layout.RAW_ENTRIES_PREFIX}",
            "--output",
            f"s3://{tables}/{layout.TABLES_PREFIX}",
            "--k-anonymity",
            "3",
            "--processing_time=2026-11-18T12:00:00Z",  # the archived day
            "--require_topic_record",  # as the deployed batch and streaming jobs run
            f"--dead_letter_output=s3://{stacks['Data']['OperatorsBucketName']}/{layout.DEAD_LETTERS_PREFIX}",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "entries valid 8" in capsys.readouterr().out

    listing = s3.list_objects_v2(Bucket=tables, Prefix=layout.table_prefix("footfall"))
    # Athena skips objects whose names start with "_" (the table's _privacy.json sidecar).
    keys = [o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".parquet")]
    # The Glue tables' storage.location.template: tables/<table>/store_id=<s>/date=<d>/
    assert keys and all(k.startswith("tables/footfall/store_id=store-a/date=2026-11-18/") for k in keys), keys
    rows = [
        row
        for k in keys
        for row in pq.read_table(io.BytesIO(s3.get_object(Bucket=tables, Key=k)["Body"].read())).to_pylist()
    ]
    # The entries name no zone, so only the whole-store rows; four visitors, perturbed by at most 3.
    assert sorted((r["zone_id"], r["granularity"], r["suppressed"]) for r in rows) == [
        ("*", granularity, False) for granularity in ("1d", "1h", "5m")
    ]
    assert all(3 <= r["visitors"] <= 7 for r in rows)
