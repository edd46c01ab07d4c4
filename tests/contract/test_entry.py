"""The entry contract: committed schemas match the classes, the minimal profile carries only what the
job uses, research detail needs its own profile, v1 archives still read, no identifying data passes."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from anonflow.cli.main import main
from anonflow.contract import (
    BODY_POINTS,
    FACE_POINTS,
    SCHEMA_FILES,
    Entry,
    EntryV1,
    ResearchEntry,
    SchemaName,
    committed_entry_schema,
    generated_schema,
)
from anonflow.contract.entries import read_entry

VALID: dict[str, Any] = {
    "schema_version": 2,
    "profile": "minimal",
    "entry_id": "0123456789abcdef0123456789abcdef",
    "store_id": "store-1",
    "camera_id": "entrance",
    "track_id": "0123456789abcdef",
    "event_time_ms": 1_795_255_200_000,
    "foot": {"x": 0.2, "y": 0.9},
    "demographics": {"gender": "female", "age_group": "adult"},
    "appearance_group": 17,
    "appearance_groups": 1000,
    "zones": ["entrance"],
    "line_crossings": [{"line_id": "door", "direction": "in"}],
    "producer": {"version": "0.1.0", "pose_model": "openpose-lightweight", "attribute_model": "p"},
}
RESEARCH: dict[str, Any] = {
    **VALID,
    "profile": "research",
    "research": {
        "box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9},
        "keypoints": {"left_shoulder": {"x": 0.15, "y": 0.25, "score": 0.9}},
        "orientation": "front",
        "attributes": {"male": 0.2, "bag": 0.7},
    },
}
V1: dict[str, Any] = {
    **{k: v for k, v in VALID.items() if k != "profile"},
    "schema_version": 1,
    "box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9},
    "keypoints": {"left_shoulder": {"x": 0.15, "y": 0.25, "score": 0.9}},
    "orientation": "front",
    "demographics": {"gender": "female", "age_band": "18-34", "attributes": {"male": 0.2, "bag": 0.7}},
}
# What the cloud job reads of an entry; the minimal profile must hold nothing else.
USED_BY_THE_JOB = {
    "schema_version",
    "profile",
    "entry_id",
    "store_id",
    "camera_id",
    "track_id",
    "event_time_ms",
    "foot",
    "demographics",
    "appearance_group",
    "appearance_groups",
    "zones",
    "line_crossings",
    "producer",
}


def _with(path: str, value: Any, base: dict[str, Any] = VALID) -> dict[str, Any]:
    entry = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = entry
    for key in parents:
        node = node[key]
    node[leaf] = value
    return entry


@pytest.mark.parametrize("name", list(SCHEMA_FILES))
def test_committed_schema_is_generated_from_the_classes(name: SchemaName) -> None:
    assert committed_entry_schema(name) == json.loads(json.dumps(generated_schema(name)))


@pytest.mark.parametrize("name", list(SCHEMA_FILES))
def test_schema_command_prints_the_committed_schema(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", name]) == 0
    assert json.loads(capsys.readouterr().out) == committed_entry_schema(name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("document", "model", "schema"),
    [(VALID, Entry, "entry"), (RESEARCH, ResearchEntry, "entry-research"), (V1, EntryV1, "entry-v1")],
)
def test_a_valid_entry_passes_its_class_its_json_schema_and_the_reader(
    document: dict[str, Any], model: type[Entry | EntryV1], schema: SchemaName
) -> None:
    model.model_validate(document)
    jsonschema.validate(document, committed_entry_schema(schema))
    assert type(read_entry(document)) is model


def test_the_minimal_profile_holds_only_what_the_job_uses() -> None:
    """Data minimisation as a schema property: every top-level field is read by the job."""
    schema = committed_entry_schema("entry")
    assert set(schema["properties"]) == USED_BY_THE_JOB  # type: ignore[call-overload]
    assert set(schema["$defs"]["Demographics"]["properties"]) == {"gender", "age_group", "age_band"}  # type: ignore[index]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("keypoints", {"left_hip": {"x": 0.2, "y": 0.6, "score": 0.9}}),
        ("box", {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9}),
        ("orientation", "front"),
        ("research", RESEARCH["research"]),
        ("demographics.attributes", {"bag": 0.7}),
    ],
)
def test_research_detail_in_a_minimal_entry_is_refused(field: str, value: Any) -> None:
    """Positive control of the profile: the same detail a research entry carries is refused here."""
    entry = _with(field, value)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Entry.model_validate(entry)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry, committed_entry_schema("entry"))
    with pytest.raises(ValidationError):
        read_entry(entry)


def test_a_research_entry_must_say_so() -> None:
    unlabelled = {**RESEARCH, "profile": "minimal"}
    with pytest.raises(ValidationError, match="research"):
        read_entry(unlabelled)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {k: v for k, v in RESEARCH.items() if k != "profile"}, committed_entry_schema("entry-research")
        )


@pytest.mark.parametrize(
    ("base", "path", "schema"),
    [(RESEARCH, "research.keypoints", "entry-research"), (V1, "keypoints", "entry-v1")],
)
@pytest.mark.parametrize("face_point", FACE_POINTS)
def test_face_points_are_rejected_by_class_and_schema(
    face_point: str, base: dict[str, Any], path: str, schema: SchemaName
) -> None:
    entry = _with(f"{path}.{face_point}", {"x": 0.5, "y": 0.1, "score": 0.9}, base)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        read_entry(entry)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry, committed_entry_schema(schema))


@pytest.mark.parametrize("schema", ["entry-research", "entry-v1"])
def test_only_body_points_have_fields(schema: SchemaName) -> None:
    assert set(committed_entry_schema(schema)["$defs"]["BodyKeyPoints"]["properties"]) == set(BODY_POINTS)  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("crop", "iVBORw0KGgo=", "Extra inputs"),
        ("image", [[0, 0, 0]], "Extra inputs"),
        ("face_embedding", [0.1, 0.2], "Extra inputs"),
        ("demographics.face", 0.5, "Extra inputs"),
        ("foot.x", 1.5, "less than or equal to 1"),
        ("entry_id", "not-hex", "String should match"),
        ("store_id", "a/b", "String should match"),
        ("track_id", "42", "String should match"),
        ("event_time_ms", 12, "greater than or equal"),
        ("appearance_group", 1000, "below appearance_groups"),
        ("demographics.age_group", "0-17", "Input should be"),
        ("demographics.age_band", "55+", "does not fall in age_group adult"),
        ("demographics.gender", "x", "Input should be"),
        ("line_crossings", [{"line_id": "door", "direction": "up"}], "Input should be"),
        ("schema_version", 1, "Input should be 2"),
        ("profile", "research", "Input should be 'minimal'"),
    ],
)
def test_invalid_entries_name_what_is_wrong(path: str, value: Any, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Entry.model_validate(_with(path, value))


def test_importing_the_contract_pulls_in_no_heavy_part() -> None:
    """Edge and dataflow share the contract; a gateway has no Beam and the job has no OpenCV or ONNX."""
    import subprocess
    import sys

    heavy = "{'cv2', 'onnxruntime', 'apache_beam'}"
    probe = f"import sys, anonflow.contract; print(sorted({heavy} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
