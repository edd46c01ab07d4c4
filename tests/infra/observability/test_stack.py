"""MonitoringStack: each loss or delay signal has an alarm with the configured threshold, to one topic."""

from __future__ import annotations

from typing import Any

from anonflow.contract import metrics
from tests.kit.cdk import Assembly, ref, render, resources


def _alarms(assembly: Assembly) -> list[dict[str, Any]]:
    return [
        render(a["Properties"])
        for a in resources(assembly.template_json("Monitoring"), "AWS::CloudWatch::Alarm")
    ]


def _alarm_on(assembly: Assembly, metric_name: str) -> dict[str, Any]:
    (alarm,) = [a for a in _alarms(assembly) if a.get("MetricName") == metric_name]
    return alarm


def test_iterator_age_alarm(assembly: Assembly) -> None:
    alarm = _alarm_on(assembly, "GetRecords.IteratorAgeMilliseconds")
    assert alarm["Namespace"] == "AWS/Kinesis"
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == assembly.config.alarms.iterator_age_minutes * 60_000
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_gateway_spool_alarms_watch_the_health_rule_metrics(assembly: Assembly) -> None:
    depth = _alarm_on(assembly, metrics.SPOOL_DEPTH.name)
    assert (depth["Namespace"], depth["Statistic"]) == ("Anonflow/test", "Maximum")
    assert depth["Threshold"] == assembly.config.alarms.spool_depth_entries
    evicted = _alarm_on(assembly, metrics.SPOOL_EVICTED.name)
    assert (evicted["Statistic"], evicted["Threshold"]) == ("Sum", 0)
    cameras = _alarm_on(assembly, metrics.CAMERAS_DOWN.name)
    assert (cameras["Statistic"], cameras["Threshold"], cameras["EvaluationPeriods"]) == ("Maximum", 0, 3)


def test_dead_letter_rate_alarm_divides_dataflow_metrics(assembly: Assembly) -> None:
    (alarm,) = [a for a in _alarms(assembly) if "dead" in {m["Id"] for m in a.get("Metrics", [])}]
    expression = next(m for m in alarm["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "IF(read > 0, 100 * dead / read, 0)"
    used = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert used == {
        "dead": {"MetricName": metrics.DEAD_LETTERS.name, "Namespace": "Anonflow/test"},
        "read": {"MetricName": metrics.ENTRIES_READ.name, "Namespace": "Anonflow/test"},
    }
    assert alarm["Threshold"] == assembly.config.alarms.dead_letter_percent


def test_rule_failures_and_flink_job_alarms(assembly: Assembly) -> None:
    watched = {
        (a.get("MetricName"), tuple((d["Name"], d["Value"]) for d in a.get("Dimensions", [])))
        for a in _alarms(assembly)
    }
    for rule in ("anonflow_test_entries", "anonflow_test_health"):
        assert ("Failure", (("RuleName", rule),)) in watched
        assert ("ErrorActionFailure", (("RuleName", rule),)) in watched
    rises = [
        a
        for a in _alarms(assembly)
        if any(m.get("Expression") == "RATE(total) * PERIOD(total)" for m in a.get("Metrics", []))
    ]
    watched_gauges = {
        m["MetricStat"]["Metric"]["MetricName"] for a in rises for m in a["Metrics"] if "MetricStat" in m
    }
    assert watched_gauges == {
        "flink_jobmanager_job_numRestarts",
        "flink_jobmanager_job_numberOfFailedCheckpoints",
    }
    # A running job always reports its gauges: silence is an incident, unlike the traffic metrics.
    assert {a["TreatMissingData"] for a in rises} == {"breaching"}


def test_every_alarm_notifies_the_encrypted_topic(assembly: Assembly) -> None:
    template = assembly.template_json("Monitoring")
    topic = assembly.stacks.monitoring.alarms.topic
    alarms = _alarms(assembly)
    assert len(alarms) == 11  # dead-letter rate, iterator age, 2 spool, cameras, 2 x 2 rule failures, 2 Flink
    assert all(a["AlarmActions"] == [ref(topic)] for a in alarms)
    assert sum(a["TreatMissingData"] == "notBreaching" for a in alarms) == 9
    (topic_json,) = resources(template, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic_json["Properties"]
    (subscription,) = resources(template, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"
