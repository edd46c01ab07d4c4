"""Parsing payloads: single entries, gateway batches (object or array), and every kind of reject with its
reason; a packed entry is validated exactly like a line of its own."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from anonflow.contract.entries import read_entry
from anonflow.contract.entry import Entry
from anonflow.contract.routed import PAYLOAD_FIELD, STORE_FIELD
from anonflow.dataflow.deadletter import DEAD_LETTER_TAG, DeadLetter
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.transforms.parse import ParseEntries, ParseRules, Rejected, parse_payload
from tests.dataflow.builders import entry_json, obs

GOOD = [entry_json(obs("cam", f"{i:016x}", i)) for i in range(3)]
IDS = [e["entry_id"] for e in GOOD]
GOOD_ENTRY = read_entry(GOOD[0])
UNKNOWN_VERSION = "schema_version must be 2 (profile minimal or research) or 1 (archived)"
NOSE = {"x": 0.1, "y": 0.1, "score": 1.0}
RESEARCH = {
    **GOOD[0],
    "profile": "research",
    "research": {
        "box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9},
        "keypoints": {"left_hip": {"x": 0.2, "y": 0.6, "score": 0.8}},
        "orientation": "back",
        "attributes": {"male": 0.3, "bag": 0.6},
    },
}
# An archived v1 entry: key points, raw probabilities and the finer age band, all in the entry itself.
V1 = {
    **{k: v for k, v in GOOD[0].items() if k != "profile"},
    "schema_version": 1,
    "box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9},
    "keypoints": {"left_hip": {"x": 0.2, "y": 0.6, "score": 0.8}},
    "demographics": {"gender": "female", "age_band": "55+", "attributes": {"male": 0.1}},
}


def line(document: Any) -> str:
    return json.dumps(document)


def outcome(payload: str, stores: frozenset[str] | None = None) -> list[str]:
    """Each piece as its entry id, or "! reason" for a reject."""
    return [
        f"! {item.reason}" if isinstance(item, Rejected) else item.entry_id
        for item in parse_payload(payload, stores)
    ]


# (case, payload, expected pieces)
CASES = [
    ("one entry per line", "\n".join(line(e) for e in GOOD), IDS),
    ("blank lines are ignored", f"\n{line(GOOD[0])}\n\n  \n", IDS[:1]),
    ("batch object", line({"entries": GOOD}), IDS),
    ("batch object with other keys", line({"gateway": "g1", "entries": GOOD[:2]}), IDS[:2]),
    ("top-level array", line(GOOD), IDS),
    ("empty batch", line({"entries": []}), []),
    ("not JSON", '{"entry_id": ', ["! not JSON: Expecting value at column 14"]),
    ("batch field not a list", line({"entries": {"a": 1}}), ["! batch field 'entries' is not a list"]),
    (
        "face point in a batch: only that entry is rejected",
        line({"entries": [GOOD[0], {**GOOD[1], "keypoints": {"nose": {"x": 0.1, "y": 0.1, "score": 1.0}}}]}),
        [IDS[0], "! not a valid entry: keypoints: unknown field"],
    ),
    (
        "face point in a research entry",
        line({**RESEARCH, "research": {**RESEARCH["research"], "keypoints": {"nose": NOSE}}}),
        ["! not a valid entry: research.keypoints.nose: unknown field"],
    ),
    ("research entry", line(RESEARCH), [IDS[0]]),
    ("archived v1 entry", line(V1), [IDS[0]]),
    (
        "key points without the research profile",
        line({**GOOD[0], "research": RESEARCH["research"]}),
        ["! not a valid entry: research: unknown field"],
    ),
    (
        "unknown version",
        line({**GOOD[0], "schema_version": 3}),
        [f"! not a valid entry: (top level): {UNKNOWN_VERSION}"],
    ),
    (
        "missing field",
        line({k: v for k, v in GOOD[0].items() if k != "camera_id"}),
        ["! not a valid entry: camera_id: Field required"],
    ),
    (
        "group beyond the bucket count",
        line({**GOOD[0], "appearance_group": 64}),
        ["! not a valid entry: (top level): Value error, appearance_group must be below appearance_groups"],
    ),
    ("a number is not an entry", "42", ["! not a valid entry: (top level): Input should be an object"]),
    (
        "a string inside a batch",
        line([GOOD[0], "x"]),
        [IDS[0], "! not a valid entry: (top level): Input should be an object"],
    ),
]


@pytest.mark.parametrize(("case", "payload", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse_payload(case: str, payload: str, expected: list[str]) -> None:
    assert outcome(payload) == expected


@pytest.mark.parametrize(
    ("document", "age_group"),
    [
        (GOOD[0], "adult"),
        (RESEARCH, "adult"),
        (V1, "senior"),
        ({**V1, "demographics": {"gender": "female"}}, "unknown"),
    ],
)
def test_every_readable_version_becomes_the_same_observation(
    document: dict[str, Any], age_group: str
) -> None:
    (entry,) = parse_payload(line(document))
    assert not isinstance(entry, Rejected)
    observation = Observation.from_entry(entry)
    assert observation == dataclasses.replace(Observation.from_entry(GOOD_ENTRY), age_group=age_group)


def test_unknown_store_is_rejected_only_with_a_stores_file() -> None:
    payload = line({**GOOD[0], "store_id": "s9"})
    assert outcome(payload) == [IDS[0]]
    assert outcome(payload, frozenset({"s1"})) == ["! store 's9' is not in the stores file"]
    (rejected,) = parse_payload(payload, frozenset({"s1"}))
    assert isinstance(rejected, Rejected) and rejected.store_id == "s9" and rejected.raw == payload


def test_a_reject_in_a_batch_keeps_only_its_own_text() -> None:
    broken = {**GOOD[1], "event_time_ms": 5}
    pieces = list(parse_payload(line({"entries": [GOOD[0], broken]})))
    assert isinstance(pieces[1], Rejected)
    assert json.loads(pieces[1].raw) == broken and pieces[1].store_id == "s1"


@settings(max_examples=150, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(
            ["event_time_ms", "appearance_group", "camera_id", "zones", "foot", "schema_version"]
        ),
        st.one_of(
            st.integers(-5, 2**42), st.text(max_size=8), st.none(), st.lists(st.text(max_size=4), max_size=2)
        ),
        max_size=2,
    )
)
def test_packed_and_single_entries_are_judged_alike(changes: dict[str, Any]) -> None:
    document = {**GOOD[0], **changes}
    alone = outcome(line(document))
    packed = outcome(line({"entries": [document]}))
    assert alone == packed


def test_parse_transform_stamps_event_time_and_routes_rejects() -> None:
    payloads = [("a.ndjson:1", line(GOOD[0])), ("a.ndjson:2", "nope")]
    with BeamPipeline() as p:
        parsed = p | beam.Create(payloads) | ParseEntries()
        stamped = parsed.entries | beam.Map(
            lambda o, t=beam.DoFn.TimestampParam: (o.entry_id, t.micros // 1000 == o.event_time_ms)
        )
        assert_that(stamped, equal_to([(IDS[0], True)]), label="Entries")
        reasons = parsed[DEAD_LETTER_TAG] | beam.Map(lambda d: (d.source, d.reason.split(":")[0], d.store_id))
        assert_that(reasons, equal_to([("a.ndjson:2", "not JSON", "unknown")]), label="DeadLetters")


def test_dead_letter_store_must_be_an_identifier() -> None:
    assert DeadLetter.of("s", "r", "x", 0, "../../etc").store_id == "unknown"
    assert DeadLetter.of("s", "r", "x" * 100_000, 0, "s1").raw == "x" * 65_536


def routed_line(topic_store: str, *documents: Any) -> str:
    message = "".join(json.dumps(d) + "\n" for d in documents).encode()
    return line({STORE_FIELD: topic_store, PAYLOAD_FIELD: base64.b64encode(message).decode()})


# (case, payload, rules, expected pieces)
ROUTED_CASES = [
    ("a record of the topic's store", routed_line("s1", *GOOD), ParseRules(), IDS),
    (
        "an entry naming another store than its topic",
        routed_line("s2", GOOD[0]),
        ParseRules(),
        ["! store_id 's1' differs from the store of the topic it came on ('s2')"],
    ),
    (
        "one stray entry in a message: only it is dropped",
        routed_line("s1", GOOD[0], {**GOOD[1], "store_id": "s7"}),
        ParseRules(),
        [IDS[0], "! store_id 's7' differs from the store of the topic it came on ('s1')"],
    ),
    (
        "plain lines where records are required",
        line(GOOD[0]),
        ParseRules(require_routed=True),
        ["! not a topic-rule record (the job reads IoT Core's records only)"],
    ),
    (
        "records where records are required",
        routed_line("s1", GOOD[0]),
        ParseRules(require_routed=True),
        IDS[:1],
    ),
    (
        "a record with a bad topic store id is no record",
        line({STORE_FIELD: "s1\n", PAYLOAD_FIELD: ""}),
        ParseRules(),
        [
            "! not a valid entry: (top level): "
            "schema_version must be 2 (profile minimal or research) or 1 (archived)"
        ],
    ),
    ("deep nesting", "[" * 1000 + "]" * 1000, ParseRules(), ["! not JSON: nested too deeply"]),
    (
        "a JSON string with a line separator stays one line",
        line({**GOOD[0], "store_id": "s1\u2028"}),
        ParseRules(),
        ["! not a valid entry: store_id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'"],
    ),
]


@pytest.mark.parametrize(
    ("case", "payload", "rules", "expected"), ROUTED_CASES, ids=[c[0] for c in ROUTED_CASES]
)
def test_routed_records_and_their_store(
    case: str, payload: str, rules: ParseRules, expected: list[str]
) -> None:
    got = [
        item.entry_id if isinstance(item, Entry) else f"! {item.reason}"
        for item in parse_payload(payload, rules=rules)
    ]
    assert got == expected


def test_a_mismatched_entry_is_filed_under_the_topics_store() -> None:
    (rejected,) = parse_payload(routed_line("s2", GOOD[0]))
    assert isinstance(rejected, Rejected) and rejected.store_id == "s2"
    assert json.loads(rejected.raw) == GOOD[0]
