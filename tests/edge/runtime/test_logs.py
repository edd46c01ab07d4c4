"""Structured logs: one JSON object per line, with the call's `extra` fields."""

from __future__ import annotations

import json
import logging
import sys

from anonflow.edge.runtime.logs import JsonFormatter


def test_a_record_is_one_json_line_with_its_extra_fields() -> None:
    record = logging.LogRecord(
        "anonflow.edge.runtime.camera", logging.WARNING, __file__, 1, "camera %s: down", ("door",), None
    )
    record.event = "camera_unreachable"
    record.camera_id = "door"

    line = JsonFormatter().format(record)

    assert "\n" not in line
    out = json.loads(line)
    assert out["level"] == "warning" and out["logger"] == "anonflow.edge.runtime.camera"
    assert out["message"] == "camera door: down"
    assert out["event"] == "camera_unreachable" and out["camera_id"] == "door"
    assert out["time"].endswith("+00:00")


def test_a_traceback_stays_inside_the_line() -> None:
    try:
        raise ValueError("corrupt frame")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    out = json.loads(JsonFormatter().format(record))

    assert "ValueError: corrupt frame" in out["error"]
