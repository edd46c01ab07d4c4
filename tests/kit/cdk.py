"""Reading a synthesised cloud assembly in tests: templates by stack part, resources by type, intrinsic
functions flattened to text, and logical ids computed from the constructs (never written into a test).

The templates are read from the assembly directory, which is what `cdk deploy`, cfn-lint, checkov and
moto consume.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import CfnResource, Stack, assertions

from anonflow.infra.app import AnonflowStacks
from anonflow.infra.config import EnvironmentConfig

PARTS = ("Data", "Fleet", "Edge", "Processing", "Monitoring")


@dataclass
class Assembly:
    """The synthesised cloud assembly of the test environment."""

    config: EnvironmentConfig
    directory: Path
    stacks: AnonflowStacks
    _templates: dict[str, assertions.Template] = field(default_factory=dict)

    def template_path(self, part: str) -> Path:
        return self.directory / f"Anonflow{part}-{self.config.name}.template.json"

    def template_json(self, part: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.template_path(part).read_text(encoding="utf-8"))
        return data

    def template(self, part: str) -> assertions.Template:
        if part not in self._templates:
            self._templates[part] = assertions.Template.from_json(self.template_json(part))
        return self._templates[part]


def resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """Every resource of a type in a template, as its JSON (logical ids are not part of any assertion)."""
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def kubernetes_objects(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The Kubernetes objects a template applies to its EKS cluster (CDK tokens shown as <Ref ...>)."""
    found: list[dict[str, Any]] = []
    for resource in resources(template, "Custom::AWSCDK-EKS-KubernetesResource"):
        found.extend(json.loads(render(resource["Properties"]["Manifest"])))
    return found


def render(value: Any) -> Any:
    """A template value with Fn::Join flattened and references shown as <Ref X>/<GetAtt X.Attr>/<Import X>,
    so policy resources and recipes can be compared as text."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "Fn::Join":
            separator, parts = inner
            return separator.join(str(render(p)) for p in parts)
        if key == "Ref":
            return f"<Ref {inner}>"
        if key == "Fn::GetAtt":
            return f"<GetAtt {'.'.join(inner)}>"
        if key == "Fn::ImportValue":
            return f"<Import {render(inner)}>"
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value


def logical_id(construct: Any) -> str:
    """The logical id CDK gave a construct's CloudFormation resource (computed, never written in a test);
    resolved through `Ref`, so ids CDK overrides (Lambda versions) come out as in the template."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    resolved = Stack.of(resource).resolve(resource.ref)
    return str(resolved["Ref"])


def ref(construct: Any) -> str:
    return f"<Ref {logical_id(construct)}>"


def arn_of(construct: Any) -> str:
    return f"<GetAtt {logical_id(construct)}.Arn>"


def symbolic(text: str, names: dict[str, Any]) -> str:
    """`text` with each reference to one of `names`' constructs (Ref, GetAtt, or a cross-stack import of
    either) replaced by `{name}`, so policy resources can be compared across stacks by meaning."""
    for name, construct in names.items():
        identifier = logical_id(construct)
        for token in (f"<Ref {identifier}>", f"<GetAtt {identifier}.Arn>"):
            text = text.replace(token, f"{{{name}}}")
        text = re.sub(rf"<Import [^>]*[:]ExportsOutput(Ref|FnGetAtt){identifier}[^>]*>", f"{{{name}}}", text)
    return text


def statements_of(template: dict[str, Any], role: Any) -> list[dict[str, Any]]:
    """Every statement of the inline IAM policies attached to `role` in `template`, rendered."""
    role_ref = ref(role)
    found: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy"):
        if role_ref in render(policy["Properties"]["Roles"]):
            found.extend(render(policy["Properties"]["PolicyDocument"]["Statement"]))
    return found


def grants(statements: list[dict[str, Any]], names: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, symbolic resource) pairs allowed by `statements`; Deny statements are not expected here."""
    pairs: set[tuple[str, str]] = set()
    for statement in statements:
        if statement["Effect"] != "Allow":
            raise AssertionError(f"unexpected {statement['Effect']} statement {statement}")
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        pairs |= {(action, symbolic(str(target), names)) for action in actions for target in targets}
    return pairs
