"""Payload -> validated, event-timestamped observations, or dead-letter rows with the reason.

Every readable contract version parses: v2 (minimal or research) from gateways, v1 from archives.
"""

from __future__ import annotations

import base64
import binascii
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
from anonflow.contract.routed import STORE_FIELD, RoutedMessage
from anonflow.contract.settings import first_problem
from anonflow.dataflow.deadletter import DEAD_LETTER_TAG, DeadLetter
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.timewindow import EventTimeWindow

Parsed = Entry | EntryV1


@dataclass(frozen=True, slots=True)
class Rejected:
    """A piece of a payload that is not a usable entry: why, its text, and its store if it names one."""

    reason: str
    raw: str
    store_id: object = None


@dataclass(frozen=True, slots=True)
class ParseRules:
    """What an entry must satisfy beyond the contract.

    stores: if given, entries of any other store are rejected (the store has no configuration).
    window: if given, entries whose event time lies outside it are rejected.
    require_routed: every line must be a topic-rule record (`RoutedMessage`); plain entry lines are
    rejected. Set it where the input comes from IoT Core, so no entry escapes the topic's store check.
    """

    stores: Set[str] | None = None
    window: EventTimeWindow | None = None
    require_routed: bool = False


def parse_payload(
    payload: str, stores: Set[str] | None = None, rules: ParseRules | None = None
) -> Iterator[Parsed | Rejected]:
    """Entries in a payload, each an entry or a `Rejected` piece.

    A payload is one or more lines; a line is one entry object, a batch object {"entries": [...]}, a
    JSON array of entries (how gateways pack entries into one MQTT message), or a topic-rule record
    wrapping a gateway message, whose entries must all belong to the topic's store. Blank lines are
    ignored. Every entry, packed or not, is validated the same way: the contract model of its version
    on its JSON text.
    stores: shorthand for `rules.stores`.
    """
    rules = rules or ParseRules(stores=stores)
    # Split on "\n" only: JSON strings may hold the other characters `splitlines` breaks at.
    for line in payload.split("\n"):
        if not line.strip():
            continue
        if STORE_FIELD in line:  # cheap test first: most lines of a local run are plain entries
            try:
                routed = RoutedMessage.model_validate_json(line)
            except ValidationError:
                pass  # not a record after all: it is judged as an entry line below
            else:
                yield from _routed(routed, line, rules)
                continue
        if rules.require_routed:
            yield Rejected("not a topic-rule record (the job reads IoT Core's records only)", line)
            continue
        yield from _line(line, rules, None)


def _routed(routed: RoutedMessage, line: str, rules: ParseRules) -> Iterator[Parsed | Rejected]:
    store = routed.topic_store_id
    try:
        message = base64.b64decode(routed.payload_base64, validate=True)
    except binascii.Error as error:
        yield Rejected(f"payload_base64 is not base64: {error}", line, store)
        return
    for inner in message.decode("utf-8", errors="replace").split("\n"):
        if inner.strip():
            yield from _line(inner, rules, store)


def _line(line: str, rules: ParseRules, topic_store: str | None) -> Iterator[Parsed | Rejected]:
    try:
        # The common case, one entry per line, takes one pass of the compiled validator.
        yield _known(read_entry_json(line), line, rules, topic_store)
        return
    except ValidationError as error:
        single_error = error
    yield from _slow_path(line, single_error, rules, topic_store)


def _slow_path(
    line: str, single_error: ValidationError, rules: ParseRules, topic_store: str | None
) -> Iterator[Parsed | Rejected]:
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        yield Rejected(f"not JSON: {error.msg} at column {error.colno}", line, topic_store)
        return
    except RecursionError:  # a few KB of brackets: the decoder's own depth guard, not a crash
        yield Rejected("not JSON: nested too deeply", line, topic_store)
        return
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and "entries" in document:
        items = document["entries"]
        if not isinstance(items, list):
            yield Rejected("batch field 'entries' is not a list", line, topic_store)
            return
    else:
        store = document.get("store_id") if isinstance(document, dict) else None
        yield Rejected(f"not a valid entry: {_reason(single_error)}", line, topic_store or store)
        return
    for item in items:
        try:
            text = json.dumps(item)
        except RecursionError:
            yield Rejected("not a valid entry: nested too deeply", line, topic_store)
            continue
        raw = text if len(items) > 1 else line
        try:
            yield _known(read_entry_json(text), raw, rules, topic_store)
        except ValidationError as error:
            store = item.get("store_id") if isinstance(item, dict) else None
            yield Rejected(f"not a valid entry: {_reason(error)}", raw, topic_store or store)


def _known(entry: Parsed, raw: str, rules: ParseRules, topic_store: str | None) -> Parsed | Rejected:
    if topic_store is not None and entry.store_id != topic_store:
        # Filed under the topic's store: the publisher's own store sees what its gateway sent.
        return Rejected(
            f"store_id {entry.store_id!r} differs from the store of the topic it came on ({topic_store!r})",
            raw,
            topic_store,
        )
    if rules.stores is not None and entry.store_id not in rules.stores:
        return Rejected(f"store {entry.store_id!r} is not in the stores file", raw, entry.store_id)
    if rules.window is not None:
        outside = rules.window.reject_reason(entry.event_time_ms)
        if outside is not None:
            return Rejected(outside, raw, entry.store_id)
    return entry


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
    def __init__(self, rules: ParseRules) -> None:
        self._rules = rules
        self.valid = Metrics.counter("anonflow", "entries_valid")
        self.invalid = Metrics.counter("anonflow", "entries_dead_letter")

    def process(self, element: tuple[str, str]) -> Iterator[object]:
        source, payload = element
        for item in parse_payload(payload, rules=self._rules):
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
    window / require_routed: see `ParseRules`.
    """

    def __init__(
        self,
        stores: frozenset[str] | None = None,
        *,
        window: EventTimeWindow | None = None,
        require_routed: bool = False,
    ) -> None:
        super().__init__()
        self._rules = ParseRules(stores=stores, window=window, require_routed=require_routed)

    def expand(self, payloads: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return payloads | "Validate" >> beam.ParDo(_ParseDoFn(self._rules)).with_outputs(
            DEAD_LETTER_TAG, main="entries"
        )
