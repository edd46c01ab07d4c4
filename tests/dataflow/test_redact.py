"""Dead letters' raw text as operators see it: bounded, face keypoints and blobs redacted."""

from __future__ import annotations

import json

import pytest

from anonflow.dataflow.redact import RAW_LIMIT, redact

FACE = json.dumps({"keypoints": {"nose": {"x": 0.41, "y": 0.12, "score": 0.9}, "left_hip": {"x": 0.5}}})


@pytest.mark.parametrize(
    ("raw", "kept", "gone"),
    [
        (FACE, ['"nose": "<redacted>"', '"left_hip": {"x": 0.5}'], ["0.41", "0.12"]),
        ('{"left_eye": [0.3, 0.2], "right_ear": 0.7}', ['"left_eye": "<redacted>"'], ["0.3", "0.7"]),
        ('{"crop": "' + "iVBORw0KGgo" * 20 + '"}', ['"crop": "<redacted 220 chars>"'], ["iVBOR"]),
        ("not json at all", ["not json at all"], []),
        ('{"entry_id": "' + "a" * 32 + '"}', ["a" * 32], []),  # ids are short enough to keep
    ],
)
def test_redaction(raw: str, kept: list[str], gone: list[str]) -> None:
    out = redact(raw)
    for text in kept:
        assert text in out
    for text in gone:
        assert text not in out


def test_raw_text_is_bounded() -> None:
    raw = '{"zones": [' + ", ".join('"z"' for _ in range(5000)) + "]}"
    out = redact(raw)
    assert len(out) < RAW_LIMIT + 40 and out.endswith(f"<cut: {len(raw)} chars in all>")
