"""EdgeStack: the recipe registered with its S3 artifacts, the pinned edge Lambda, the fleet deployment."""

from __future__ import annotations

import json
from typing import Any

import yaml

from edge.greengrass.settings import with_greengrass_defaults
from edge.runtime.config import parse_config
from infra.greengrass.edge_lambda import HANDLER, EdgeLambdaComponent
from infra.testing import Assembly, logical_id, ref, render, resources, symbolic


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
        assert registered["Lifecycle"] == templated["Lifecycle"]  # everything else as the edge wrote it
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


def _deployments(assembly: Assembly) -> list[dict[str, Any]]:
    found = resources(assembly.template_json("Edge"), "AWS::GreengrassV2::Deployment")
    return [render(d["Properties"]) for d in found]


def test_each_gateway_gets_its_store_and_cameras(assembly: Assembly) -> None:
    gateway_deployments = {
        d["TargetArn"].rsplit(":thing/", 1)[-1]: d
        for d in _deployments(assembly)
        if ":thing/" in d["TargetArn"]
    }
    expected = {g.thing_name: (s.store_id, g.cameras) for s in assembly.config.stores for g in s.gateways}
    assert set(gateway_deployments) == set(expected)
    for thing, (store_id, cameras) in expected.items():
        deployment = gateway_deployments[thing]
        (component,) = deployment["Components"].items()
        assert component[0] == "dev.anonflow.Gateway"
        assert component[1]["ComponentVersion"] == "1.2.3"
        merge = json.loads(component[1]["ConfigurationUpdate"]["Merge"])
        assert merge == {
            "gateway": {"log_level": "debug", "store_id": store_id, "gateway_id": thing, "cameras": cameras}
        }
        assert deployment["DeploymentPolicies"]["FailureHandlingPolicy"] == "ROLLBACK"


def test_merged_gateway_settings_are_valid_for_the_edge(assembly: Assembly) -> None:
    """What a gateway reads over IPC passes the edge's own settings model."""
    for deployment in _deployments(assembly):
        for component in deployment["Components"].values():
            merge = json.loads(component["ConfigurationUpdate"]["Merge"])
            if "gateway" in merge:
                settings = parse_config(with_greengrass_defaults(merge["gateway"]), "deployment")
                assert settings.transport.kind == "greengrass"


def test_log_manager_goes_to_the_whole_fleet(assembly: Assembly) -> None:
    (fleet,) = [
        d for d in _deployments(assembly) if d["TargetArn"].endswith(":thinggroup/anonflow-test-gateways")
    ]
    (name,) = fleet["Components"]
    assert name == "aws.greengrass.LogManager"
    merge = json.loads(fleet["Components"][name]["ConfigurationUpdate"]["Merge"])
    assert "dev.anonflow.Gateway" in merge["logsUploaderConfiguration"]["componentLogsConfigurationMap"]
