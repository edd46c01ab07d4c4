"""EdgeStack: the recipe registered with its S3 artifacts, the pinned edge Lambda, and the deployment: to
the thing group by default, or per gateway."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from anonflow.edge.greengrass.settings import (
    THING_NAME_ENV,
    merge_configuration,
    select_gateway,
    with_greengrass_defaults,
)
from anonflow.edge.runtime.config import parse_config
from anonflow.infra.app import build_app
from anonflow.infra.config import EnvironmentConfig
from anonflow.infra.greengrass.edge_lambda import HANDLER, EdgeLambdaComponent
from tests.kit.cdk import Assembly, logical_id, ref, render, resources, symbolic


def _edge_lambda(assembly: Assembly) -> EdgeLambdaComponent:
    edge_lambda = assembly.stacks.edge.edge_lambda
    assert edge_lambda is not None, "the test environment registers the edge Lambda"
    return edge_lambda


def _components(assembly: Assembly) -> list[dict[str, Any]]:
    return [
        c["Properties"]
        for c in resources(assembly.template_json("Edge"), "AWS::GreengrassV2::ComponentVersion")
    ]


def _recipe(assembly: Assembly) -> dict[str, Any]:
    (inline,) = [c["InlineRecipe"] for c in _components(assembly) if "InlineRecipe" in c]
    text = symbolic(render(inline), {"artifacts": assembly.stacks.data.artifacts_bucket})
    recipe: dict[str, Any] = json.loads(text)
    return recipe


def test_recipe_is_registered_with_name_version_and_artifacts_in_the_bucket(assembly: Assembly) -> None:
    recipe = _recipe(assembly)
    edge_recipe = yaml.safe_load(assembly.config.resolve(assembly.config.greengrass.recipe_path).read_text())
    assert recipe["ComponentName"] == "dev.anonflow.Gateway"  # from edge/greengrass/gdk-config.json
    assert recipe["ComponentVersion"] == assembly.config.greengrass.component_version == "1.2.3"
    prefix = "s3://{artifacts}/greengrass/dev.anonflow.Gateway/1.2.3/"
    for registered, templated in zip(recipe["Manifests"], edge_recipe["Manifests"], strict=True):
        assert [a["URI"] for a in registered["Artifacts"]] == [
            prefix + a["URI"].rsplit("/", 1)[-1] for a in templated["Artifacts"]
        ]
        # Everything else as the edge wrote it, with the version filled in (the venv is per version).
        lifecycle = json.loads(json.dumps(templated["Lifecycle"]).replace("{COMPONENT_VERSION}", "1.2.3"))
        assert registered["Lifecycle"] == lifecycle
    access = recipe["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"]
    assert list(access["aws.greengrass.ipc.mqttproxy"]) == ["dev.anonflow.Gateway:mqttproxy:1"]
    assert "{COMPONENT_" not in json.dumps(recipe)


def test_artifacts_are_uploaded_where_the_recipe_points_before_the_version_exists(assembly: Assembly) -> None:
    template = assembly.template_json("Edge")
    (upload,) = resources(template, "Custom::CDKBucketDeployment")
    props = upload["Properties"]
    assert props["DestinationBucketKeyPrefix"] == "greengrass/dev.anonflow.Gateway/1.2.3/"
    assert (
        symbolic(render(props["DestinationBucketName"]), {"b": assembly.stacks.data.artifacts_bucket})
        == "{b}"
    )
    assert props["Prune"] is False and props["RetainOnDelete"] is True
    versions = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::GreengrassV2::ComponentVersion"
    ]
    (native,) = [v for v in versions if "InlineRecipe" in v["Properties"]]
    upload_id = next(k for k, v in template["Resources"].items() if v is upload)
    assert upload_id in native["DependsOn"]


def test_edge_lambda_is_a_pinned_uncontainerised_component(assembly: Assembly) -> None:
    (function,) = [
        f
        for f in resources(assembly.template_json("Edge"), "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == HANDLER
    ]
    assert function["Properties"]["Runtime"] == "python3.11"
    (lambda_component,) = [c["LambdaFunction"] for c in _components(assembly) if "LambdaFunction" in c]
    assert lambda_component["ComponentName"] == "dev.anonflow.EdgeLambda"
    assert lambda_component["ComponentVersion"] == "1.2.3"
    assert render(lambda_component["LambdaArn"]) == ref(_edge_lambda(assembly).version)
    parameters = lambda_component["ComponentLambdaParameters"]
    assert parameters["Pinned"] is True
    assert parameters["MaxInstancesCount"] == 1
    assert parameters["LinuxProcessParams"] == {"IsolationMode": "NoContainer"}


def test_lambda_cloud_role_grants_nothing(assembly: Assembly) -> None:
    edge_lambda = _edge_lambda(assembly)
    policies = resources(assembly.template_json("Edge"), "AWS::IAM::Policy")
    role_ref = ref(edge_lambda.function.role)
    assert not [p for p in policies if role_ref in render(p["Properties"]["Roles"])]
    role = assembly.template_json("Edge")["Resources"][logical_id(edge_lambda.function.role)]
    assert "ManagedPolicyArns" not in role["Properties"]


def _deployments(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [render(d["Properties"]) for d in resources(template, "AWS::GreengrassV2::Deployment")]


@pytest.fixture(scope="module")
def per_gateway(environment: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Edge template of the test environment with `deployment_target: gateway`."""
    greengrass = environment.greengrass.model_copy(update={"deployment_target": "gateway"})
    config = environment.model_copy(update={"greengrass": greengrass})
    directory = tmp_path_factory.mktemp("cdk.out-per-gateway")
    app, stacks = build_app(config, outdir=str(directory))
    app.synth()
    return Assembly(config=config, directory=directory, stacks=stacks).template_json("Edge")


def _secret_arn(assembly: Assembly, store_id: str) -> str:
    """How the Edge template names a store's secret: an import of FleetStack's secret, rendered."""
    secrets = assembly.stacks.fleet.store_secrets
    assert secrets is not None, "the test environment deploys the secret manager"
    identifier = logical_id(secrets.secrets[store_id])
    return f"<Import {assembly.stacks.fleet.stack_name}:ExportsOutputRef{identifier}"


def _expected_gateways(assembly: Assembly) -> dict[str, dict[str, Any]]:
    return {
        g.thing_name: {
            "store_id": s.store_id,
            "gateway_id": g.thing_name,
            "cameras": g.cameras,
            # Appearance groups are keyed per store-local day with the store's own secret.
            "appearance": {"time_zone": s.time_zone, "secret_arn": ANY_STORE_SECRET},
        }
        for s in assembly.config.stores
        for g in s.gateways
    }


class _StoreSecret(str):
    """Compares equal to any rendered import of a store secret's ARN (checked one by one elsewhere)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("<Import ") and "StoreSecretsStore" in other

    __hash__ = str.__hash__


ANY_STORE_SECRET = _StoreSecret("<a store secret>")
DEVICE_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:anonflow-test/stores/s/appearance-AbC123"


def _on_device(text: str) -> str:
    """A rendered deployment as the device sees it: imports resolved to a real-looking secret ARN."""
    return re.sub(r"<Import [^>]*>", DEVICE_ARN, text)


def _merge(component: dict[str, Any]) -> dict[str, Any]:
    merge: dict[str, Any] = json.loads(component["ConfigurationUpdate"]["Merge"])
    return merge


def _assert_spools_to_disk(components: dict[str, Any]) -> None:
    """An IPC publish is acknowledged once in the nucleus's spooler, and the gateway then drops it from its
    own spool: the spooler must be the disk one, or a power loss loses acknowledged entries."""
    nucleus = components["aws.greengrass.Nucleus"]
    assert nucleus["ComponentVersion"] == "2.14.3"
    assert _merge(nucleus) == {
        "mqtt": {
            "spooler": {
                "storageType": "Disk",
                "pluginName": "aws.greengrass.DiskSpooler",
                "maxSizeInBytes": 268_435_456,
            }
        }
    }
    assert components["aws.greengrass.DiskSpooler"] == {"ComponentVersion": "1.0.6"}


RESET = ["/gateway", "/gateways", "/accessControl/aws.greengrass.SecretManager"]


def _assert_secrets(components: dict[str, Any], merged: dict[str, Any], stores: list[str]) -> None:
    """The secret manager holds exactly the deployment's store secrets, and the gateway may read exactly
    those (the recipe grants none by default)."""
    manager = components["aws.greengrass.SecretManager"]
    assert manager["ComponentVersion"] == "2.2.2"
    held = [c["arn"] for c in _merge(manager)["cloudSecrets"]]
    (policy,) = merged["accessControl"]["aws.greengrass.SecretManager"].values()
    assert policy["operations"] == ["aws.greengrass#GetSecretValue"]
    for arns in (held, policy["resources"]):
        assert len(arns) == len(stores)
        pairs = zip(sorted(arns), sorted(stores), strict=True)
        assert all(arn.startswith(store) for arn, store in pairs), (arns, stores)


def test_the_default_is_one_deployment_to_the_thing_group_with_every_gateway(assembly: Assembly) -> None:
    assert assembly.config.greengrass.deployment_target == "group"
    (deployment,) = _deployments(assembly.template_json("Edge"))
    assert deployment["TargetArn"] == render(
        assembly.stacks.edge.resolve(assembly.stacks.fleet.fleet.group_arn)
    )
    assert deployment["TargetArn"].endswith(":thinggroup/anonflow-test-gateways")
    assert set(deployment["Components"]) == {
        "dev.anonflow.Gateway",
        "aws.greengrass.LogManager",
        "aws.greengrass.Nucleus",
        "aws.greengrass.DiskSpooler",
        "aws.greengrass.SecretManager",
    }
    _assert_spools_to_disk(deployment["Components"])
    gateway = deployment["Components"]["dev.anonflow.Gateway"]
    assert gateway["ComponentVersion"] == "1.2.3"
    merged = _merge(gateway)
    assert merged["gateway"] == {"log_level": "debug"} and merged["gateways"] == _expected_gateways(assembly)
    every_store = sorted(_secret_arn(assembly, s.store_id) for s in assembly.config.stores)
    _assert_secrets(deployment["Components"], merged, every_store)
    assert gateway["ConfigurationUpdate"]["Reset"] == RESET
    assert deployment["DeploymentPolicies"]["FailureHandlingPolicy"] == "ROLLBACK"
    logs = _merge(deployment["Components"]["aws.greengrass.LogManager"])
    assert "dev.anonflow.Gateway" in logs["logsUploaderConfiguration"]["componentLogsConfigurationMap"]


def test_every_gateway_of_the_group_finds_its_own_valid_settings(
    assembly: Assembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What each gateway reads over IPC (recipe defaults, then the deployment's reset and merge) passes
    the edge's own selection and settings model, and is that gateway's store and cameras."""
    defaults = _recipe(assembly)["ComponentConfiguration"]["DefaultConfiguration"]
    (deployment,) = _deployments(assembly.template_json("Edge"))
    merge = json.loads(
        _on_device(deployment["Components"]["dev.anonflow.Gateway"]["ConfigurationUpdate"]["Merge"])
    )
    on_device = merge_configuration(defaults, merge)
    for store in assembly.config.stores:
        for gateway in store.gateways:
            monkeypatch.setenv(THING_NAME_ENV, gateway.thing_name)
            settings = parse_config(with_greengrass_defaults(select_gateway(on_device)[0]), "deployment")
            assert (settings.store_id, settings.gateway_id) == (store.store_id, gateway.thing_name)
            assert [c.id for c in settings.cameras] == [c["id"] for c in gateway.cameras]
            assert settings.transport.kind == "greengrass" and settings.log_level == "debug"
            assert settings.appearance.time_zone == store.time_zone
            assert settings.appearance.secret_arn == DEVICE_ARN


def test_per_gateway_target_deploys_each_gateway_its_own_store_and_cameras(
    assembly: Assembly, per_gateway: dict[str, Any]
) -> None:
    deployments = _deployments(per_gateway)
    gateway_deployments = {
        d["TargetArn"].rsplit(":thing/", 1)[-1]: d for d in deployments if ":thing/" in d["TargetArn"]
    }
    expected = _expected_gateways(assembly)
    assert set(gateway_deployments) == set(expected)
    for thing, own in expected.items():
        deployment = gateway_deployments[thing]
        components = dict(deployment["Components"])
        _assert_spools_to_disk(components)
        (component,) = [(n, c) for n, c in components.items() if n == "dev.anonflow.Gateway"]
        assert set(components) == {
            "dev.anonflow.Gateway",
            "aws.greengrass.Nucleus",
            "aws.greengrass.DiskSpooler",
            "aws.greengrass.SecretManager",
        }
        assert component[1]["ComponentVersion"] == "1.2.3"
        merged = _merge(component[1])
        assert merged["gateway"] == {"log_level": "debug", **own}
        # Only its own store's secret reaches this gateway.
        _assert_secrets(components, merged, [_secret_arn(assembly, own["store_id"])])
        assert merged["gateway"]["appearance"]["secret_arn"].startswith(
            _secret_arn(assembly, own["store_id"])
        )
        assert component[1]["ConfigurationUpdate"]["Reset"] == RESET
        assert deployment["DeploymentPolicies"]["FailureHandlingPolicy"] == "ROLLBACK"
        on_device = json.loads(_on_device(component[1]["ConfigurationUpdate"]["Merge"]))
        settings = parse_config(with_greengrass_defaults(on_device["gateway"]), "deployment")
        assert settings.transport.kind == "greengrass"
    # The log manager goes to the whole thing group, in a deployment of its own.
    (fleet,) = [d for d in deployments if d["TargetArn"].endswith(":thinggroup/anonflow-test-gateways")]
    assert list(fleet["Components"]) == ["aws.greengrass.LogManager"]
    assert len(deployments) == len(expected) + 1
