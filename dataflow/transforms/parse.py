"""Payload -> validated, event-timestamped observations, or dead-letter rows with the reason.

Every readable contract version parses: v2 (minimal or research) from gateways, v1 from archives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Set
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from pydantic import ValidationError

from anonflow.contract.entries import VERSION_TAGS, read_entry_json
from anonflow.contract.entry import Entry
from anonflow.contract.entry_v1 import EntryV1
from anonflow.contract.settings import first_problem
from anonflow.dataflow.deadletter import DEAD_LETTER_TAG, DeadLetter
from anonflow.dataflow.observation import Observation


@dataclass(frozen=True, slots=True)
class Rejected:
    """A piece of a payload that is not a usable entry: why, its text, and its store if it names one."""

    reason: str
    raw: str
    store_id: object = None


def parse_payload(payload: str, stores: Set[str] | None = None) -> Iterator[Entry | EntryV1 | Rejected]:
    """Entries in a payload, each an `Entry` or a `Rejected` piece.

    A payload is one or more lines; a line is one entry object, a batch object {"entries": [...]} or a
    JSON array of entries (how gateways pack entries into one MQTT message). Blank lines are ignored.
    Every entry, packed or not, is validated the same way: the contract model of its version on its
    JSON text.
    stores: if given, entries of any other store are rejected (the store has no configuration).
    """
    for line in payload.splitlines():
        if not line.strip():
            continue
        try:
            # The common case, one entry per line, takes one pass of the compiled validator.
            yield _known(read_entry_json(line), line, stores)
            continue
        except ValidationError as error:
            single_error = error
        yield from _slow_path(line, single_error, stores)


def _slow_path(
    line: str, single_error: ValidationError, stores: Set[str] | None
) -> Iterator[Entry | EntryV1 | Rejected]:
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        yield Rejected(f"not JSON: {error.msg} at column {error.colno}", line)
        return
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and "entries" in document:
        items = document["entries"]
        if not isinstance(items, list):
            yield Rejected("batch field 'entries' is not a list", line)
            return
    else:
        store = document.get("store_id") if isinstance(document, dict) else None
        yield Rejected(f"not a valid entry: {_reason(single_error)}", line, store)
        return
    for item in items:
        text = json.dumps(item)
        raw = text if len(items) > 1 else line
        try:
            yield _known(read_entry_json(text), raw, stores)
        except ValidationError as error:
            store = item.get("store_id") if isinstance(item, dict) else None
            yield Rejected(f"not a valid entry: {_reason(error)}", raw, store)


def _known(entry: Entry | EntryV1, raw: str, stores: Set[str] | None) -> Entry | EntryV1 | Rejected:
    if stores is None or entry.store_id in stores:
        return entry
    return Rejected(f"store {entry.store_id!r} is not in the stores file", raw, entry.store_id)


def _reason(error: ValidationError) -> str:
    # Dead-letter reasons are stored and grouped by analysts: keep pydantic's wording, unlike settings files.
    problem = first_problem(error)
    head, _, rest = problem.path.partition(".")
    where = (
        (rest or "(top level)") if head in VERSION_TAGS else problem.where
    )  # the claimed version, not a field
    message = "unknown field" if problem.kind == "extra_forbidden" else problem.text
    more = f" (+{problem.others} more)" if problem.others else ""
    return f"{where}: {message}{more}"


class _ParseDoFn(beam.DoFn):
    def __init__(self, stores: frozenset[str] | None) -> None:
        self._stores = stores
        self.valid = Metrics.counter("anonflow", "entries_valid")
        self.invalid = Metrics.counter("anonflow", "entries_dead_letter")

    def process(self, element: tuple[str, str]) -> Iterator[object]:
        source, payload = element
        for item in parse_payload(payload, self._stores):
            if isinstance(item, Entry | EntryV1):
                self.valid.inc()
                observation = Observation.from_entry(item)
                yield TimestampedValue(observation, Timestamp(micros=observation.event_time_ms * 1000))
            else:
                self.invalid.inc()
                dead = DeadLetter.of(source, item.reason, item.raw, int(time.time() * 1000), item.store_id)
                yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, dead)


class ParseEntries(beam.PTransform):
    """(source, payload) pairs -> Observations stamped with their event time (main output `entries`)
    and DeadLetters (output `dead_letter`).

    stores: the configured store ids; entries of other stores are dead-lettered. None accepts every store
    (each then gets the default configuration).
    """

    def __init__(self, stores: frozenset[str] | None = None) -> None:
        super().__init__()
        self._stores = stores

    def expand(self, payloads: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return payloads | "Validate" >> beam.ParDo(_ParseDoFn(self._stores)).with_outputs(
            DEAD_LETTER_TAG, main="entries"
        )
