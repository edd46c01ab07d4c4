"""The entry contract: committed schema matches the classes, and nothing identifying can pass."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from anonflow.cli.main import main
from anonflow.contract import BODY_POINTS, FACE_POINTS, Entry, committed_entry_schema, entry_json_schema

VALID: dict[str, Any] = {
    "schema_version": 1,
    "entry_id": "0123456789abcdef0123456789abcdef",
    "store_id": "store-1",
    "camera_id": "entrance",
    "track_id": "0123456789abcdef",
    "event_time_ms": 1_795_255_200_000,
    "box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.9},
    "foot": {"x": 0.2, "y": 0.9},
    "keypoints": {"left_shoulder": {"x": 0.15, "y": 0.25, "score": 0.9}},
    "orientation": "front",
    "demographics": {"gender": "female", "age_band": "unknown", "attributes": {"male": 0.2, "bag": 0.7}},
    "appearance_group": 17,
    "appearance_groups": 1000,
    "zones": ["entrance"],
    "line_crossings": [{"line_id": "door", "direction": "in"}],
    "producer": {"version": "0.1.0", "pose_model": "openpose-lightweight", "attribute_model": "p"},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    entry = copy.deepcopy(VALID)
    *parents, leaf = path.split(".")
    node = entry
    for key in parents:
        node = node[key]
    node[leaf] = value
    return entry


def test_committed_schema_is_generated_from_the_classes() -> None:
    assert committed_entry_schema() == json.loads(json.dumps(entry_json_schema()))


def test_schema_command_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "entry"]) == 0
    assert json.loads(capsys.readouterr().out) == committed_entry_schema()


def test_a_valid_entry_passes_both_the_class_and_the_json_schema() -> None:
    Entry.model_validate(VALID)
    jsonschema.validate(VALID, committed_entry_schema())


@pytest.mark.parametrize("face_point", FACE_POINTS)
def test_face_points_are_rejected_by_class_and_schema(face_point: str) -> None:
    entry = _with(f"keypoints.{face_point}", {"x": 0.5, "y": 0.1, "score": 0.9})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Entry.model_validate(entry)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry, committed_entry_schema())


def test_only_body_points_have_fields() -> None:
    assert set(committed_entry_schema()["$defs"]["BodyKeyPoints"]["properties"]) == set(BODY_POINTS)  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("crop", "iVBORw0KGgo=", "Extra inputs"),
        ("image", [[0, 0, 0]], "Extra inputs"),
        ("face_embedding", [0.1, 0.2], "Extra inputs"),
        ("demographics.face", 0.5, "Extra inputs"),
        ("box.x_min", 1.5, "less than or equal to 1"),
        ("box.x_max", 0.05, "max corner"),
        ("entry_id", "not-hex", "String should match"),
        ("store_id", "a/b", "String should match"),
        ("track_id", "42", "String should match"),
        ("event_time_ms", 12, "greater than or equal"),
        ("appearance_group", 1000, "below appearance_groups"),
        ("orientation", "upside-down", "Input should be"),
        ("demographics.gender", "x", "Input should be"),
        ("line_crossings", [{"line_id": "door", "direction": "up"}], "Input should be"),
        ("schema_version", 2, "Input should be 1"),
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
