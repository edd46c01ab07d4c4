"""MonitoringStack: alarms over the data, fleet and processing stacks, sent to one SNS topic."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from anonflow.infra.config import EnvironmentConfig
from anonflow.infra.data.stack import DataStack
from anonflow.infra.iot.stack import FleetStack
from anonflow.infra.observability.alarms import PipelineAlarms
from anonflow.infra.processing.stack import ProcessingStack


class MonitoringStack(Stack):
    """The pipeline's alarms and their notification topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataStack,
        fleet: FleetStack,
        processing: ProcessingStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alarms = PipelineAlarms(
            self,
            "Alarms",
            environment=config.name,
            settings=config.alarms,
            stream=data.entry_stream,
            rule_names=fleet.rule_names,
            job=processing.signals(),
        )
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)
