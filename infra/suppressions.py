"""Accepted scanner findings, recorded on the resource they concern with the reason they are accepted.

Checkov reads `Metadata.checkov.skip` (id and comment) and cfn-lint reads
`Metadata.cfn-lint.config.ignore_checks` of a CloudFormation resource; keeping the reason next to the
resource means a reviewer sees why a check does not apply where the resource is defined.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct

# aws-cdk-lib's Function adds an explicit DependsOn on the role it also references by GetAtt.
CDK_ROLE_DEPENDENCY = "aws-cdk-lib adds DependsOn on the execution role it already references; harmless."


def _cfn_resource(node: IConstruct) -> CfnResource:
    if isinstance(node, CfnResource):
        return node
    default = node.node.default_child
    if not isinstance(default, CfnResource):
        raise TypeError(f"{node.node.path} has no CloudFormation resource to annotate")
    return default


def accept_finding(node: IConstruct, check_id: str, reason: str) -> None:
    """Record that checkov check `check_id` is accepted on `node` (an L1 resource or an L2 construct)."""
    if not reason.strip():
        raise ValueError(f"accepting {check_id} on {node.node.path} needs a reason")
    resource = _cfn_resource(node)
    metadata: dict[str, Any] = dict(resource.cfn_options.metadata or {})
    checkov = dict(metadata.get("checkov", {}))
    skips = [*checkov.get("skip", []), {"id": check_id, "comment": reason}]
    resource.cfn_options.metadata = {**metadata, "checkov": {**checkov, "skip": skips}}


def accept_lint_warning(node: IConstruct, rule_id: str, reason: str) -> None:
    """Record that cfn-lint warning `rule_id` is accepted on `node`; `reason` is required (cfn-lint's
    metadata has no field for it, so callers keep it beside the call)."""
    if not rule_id.startswith("W") or not reason.strip():
        raise ValueError(f"only cfn-lint warnings can be accepted, each with a reason (got {rule_id!r})")
    resource = _cfn_resource(node)
    metadata: dict[str, Any] = dict(resource.cfn_options.metadata or {})
    lint = dict(metadata.get("cfn-lint", {}))
    config = dict(lint.get("config", {}))
    config["ignore_checks"] = [*config.get("ignore_checks", []), rule_id]
    resource.cfn_options.metadata = {**metadata, "cfn-lint": {**lint, "config": config}}
