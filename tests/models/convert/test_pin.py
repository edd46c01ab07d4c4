"""The manifest's reference pins are the outputs of the very files its sha256 names."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonflow.edge.modelfiles.registry import resolve, spec
from anonflow.models.convert.pin import reference_outputs


@pytest.mark.parametrize("name", ["openpose-lightweight", "person-attributes-0230"])
def test_pins_are_the_reference_files_outputs(model_dir: Path, name: str) -> None:
    row = spec(name)
    assert row.conversion is not None
    pins = {p.output: p for p in reference_outputs(resolve(row, model_dir), row.conversion.probe_shape)}

    for ref in row.conversion.reference:
        got = pins[ref.output]
        assert got.shape == ref.shape
        assert got.mean == pytest.approx(ref.mean, rel=1e-6, abs=1e-9)
        assert got.std == pytest.approx(ref.std, rel=1e-6)
        assert got.samples == pytest.approx(ref.samples, rel=1e-5, abs=1e-8)
