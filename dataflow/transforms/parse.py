"""Payload -> validated entries, or dead-letter rows with the reason."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import ValidationError

from anonflow.contract.entry import Entry
from dataflow.deadletter import DEAD_LETTER_TAG, DeadLetter
from dataflow.observation import Observation


def parse_payload(payload: str) -> Iterator[Entry | tuple[str, str]]:
    """Entries in a payload, each an `Entry` or a (reason, raw) pair for what could not be used.

    A payload is one or more lines; a line is one entry object or a batch object {"entries": [...]}
    (how gateways pack entries into one MQTT message). Blank lines are ignored.
    """
    for line in payload.splitlines():
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            yield (f"not JSON: {error.msg} at column {error.colno}", line)
            continue
        items = (
            document.get("entries") if isinstance(document, dict) and "entries" in document else [document]
        )
        if not isinstance(items, list):
            yield ("batch field 'entries' is not a list", line)
            continue
        for item in items:
            try:
                yield Entry.model_validate(item)
            except ValidationError as error:
                yield (f"not a valid entry: {_reason(error)}", json.dumps(item) if len(items) > 1 else line)


def _reason(error: ValidationError) -> str:
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
    return f"{where}: {message}{more}"


class _ParseDoFn(beam.DoFn):
    def __init__(self) -> None:
        self.valid = Metrics.counter("anonflow", "entries_valid")
        self.invalid = Metrics.counter("anonflow", "entries_dead_letter")

    def process(self, element: tuple[str, str]) -> Iterator[object]:
        source, payload = element
        for item in parse_payload(payload):
            if isinstance(item, Entry):
                self.valid.inc()
                yield Observation.from_entry(item)
            else:
                self.invalid.inc()
                reason, raw = item
                yield beam.pvalue.TaggedOutput(
                    DEAD_LETTER_TAG, DeadLetter.of(source, reason, raw, int(time.time() * 1000))
                )


class ParseEntries(beam.PTransform):
    """(source, payload) pairs -> Observations (main output) and DeadLetters (`dead_letter` output)."""

    def expand(self, payloads: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return payloads | "Validate" >> beam.ParDo(_ParseDoFn()).with_outputs(DEAD_LETTER_TAG, main="entries")
