"""The job's health in CloudWatch: how many entries it read and how many went to dead-letter.

The dead-letter alarm in `infra/` divides the two per 15 minutes. Each bundle publishes its own count
with PutMetricData (CloudWatch sums data points per period), so no windowing or shuffle is needed and
the numbers arrive while the job runs. A CloudWatch outage costs metrics, never data: a failed call is
logged and counted, and the entries flow on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from anonflow.contract.metrics import MetricSpec

log = logging.getLogger(__name__)


class _CountAndPublish(beam.DoFn):
    def __init__(
        self, metric: MetricSpec, namespace: str, region: str | None, endpoint_url: str | None
    ) -> None:
        self._metric = metric
        self._namespace = namespace
        self._region = region
        self._endpoint_url = endpoint_url
        self._count = 0
        self._client: Any = None
        self.failures = Metrics.counter("anonflow", "cloudwatch_publish_failures")

    def setup(self) -> None:
        import boto3
        from botocore.config import Config

        # Bounded: a slow or absent CloudWatch must not hold up the bundle that carries the entries.
        bounded = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
        self._client = boto3.client(
            "cloudwatch", region_name=self._region, endpoint_url=self._endpoint_url, config=bounded
        )

    def start_bundle(self) -> None:
        self._count = 0

    def process(self, element: object) -> Iterator[object]:
        self._count += 1
        return iter(())

    def finish_bundle(self) -> None:
        if not self._count:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        datum = {
            "MetricName": self._metric.name,
            "Value": float(self._count),
            "Unit": self._metric.unit,
            "Timestamp": datetime.now(UTC),
        }
        try:
            self._client.put_metric_data(Namespace=self._namespace, MetricData=[datum])
        except (BotoCoreError, ClientError) as error:
            self.failures.inc()
            log.warning("could not publish %s=%d to CloudWatch: %s", self._metric.name, self._count, error)


class PublishCount(beam.PTransform):
    """Publish how many elements pass, as a CloudWatch Count metric in `namespace` (no dimensions)."""

    def __init__(
        self,
        metric: MetricSpec,
        *,
        namespace: str,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__()
        self._fn = _CountAndPublish(metric, namespace, region, endpoint_url)

    def expand(self, elements: beam.PCollection) -> beam.PCollection:
        return elements | "Publish" >> beam.ParDo(self._fn)
