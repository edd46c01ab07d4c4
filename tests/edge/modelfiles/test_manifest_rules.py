"""The manifest's rules: a trained (derived) or copyleft model can never be a default."""

from __future__ import annotations

import dataclasses

import pytest

from anonflow.edge.modelfiles.registry import ModelSpec, check_manifest, manifest


def _with(name: str, **changes: object) -> tuple[ModelSpec, ...]:
    return tuple(
        dataclasses.replace(s, **changes) if s.name == name else s  # type: ignore[arg-type]
        for s in manifest()
    )


@pytest.mark.parametrize(
    ("name", "changes", "error"),
    [
        ("headfree-demographics", {}, None),
        # The classifier trained by train-demographics takes its data's licence (PA-100K: research only).
        ("headfree-demographics", {"default": True}, "derived model headfree-demographics: .* no default"),
        ("openpose-lightweight-int8", {"default": True}, "derived model openpose-lightweight-int8"),
        ("yolo11n-pose", {"default": True}, "copyleft model yolo11n-pose as a default"),
        ("headfree-demographics", {"sha256": "0" * 64}, "derived model headfree-demographics"),
    ],
)
def test_manifest_rules(name: str, changes: dict[str, object], error: str | None) -> None:
    specs = _with(name, **changes)
    if error is None:
        assert check_manifest(specs) == specs
    else:
        with pytest.raises(AssertionError, match=error):
            check_manifest(specs)
