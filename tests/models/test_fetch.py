"""`anonflow models fetch`: upstream IR from a local stand-in for the public storage, checked, converted,
proved by reference outputs, and run through the edge chain; every failure one line, nothing half-written.
"""

from __future__ import annotations

import errno
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from anonflow.contract.errors import AnonflowError
from anonflow.edge.modelfiles.registry import resolve, spec
from anonflow.models.fetch import fetch
from tests.kit.httpserve import refusing_url, serving

Cli = Callable[..., Any]  # the `cli` fixture: run(*argv) -> Run(code, out, err)

POSE = spec("openpose-lightweight")
ATTRIBUTES = spec("person-attributes-0230")
YOLO = spec("yolo11n-pose")


@pytest.fixture(scope="session")
def upstream(model_dir: Path) -> Path:
    """The exact public IR release files, under the public storage's paths."""
    path = model_dir / "upstream"
    if not (path / "repositories").is_dir():
        pytest.fail(f"{path} does not hold the upstream release files")
    return path


@pytest.fixture(scope="session")
def storage(upstream: Path) -> Iterator[str]:
    with serving(upstream) as url:
        yield url


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANONFLOW_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ANONFLOW_MODEL_MIRROR", raising=False)


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory, storage: str) -> Path:
    """A model directory filled by `fetch --all` from the local storage (once per session)."""
    target = tmp_path_factory.mktemp("converted")
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANONFLOW_CACHE_DIR", str(cache))
        for row in (POSE, ATTRIBUTES):
            fetch(row, target, storage, timeout_s=10)
    return target


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_fetch_all_converts_verifies_and_skips_copyleft(cli: Cli, storage: str, tmp_path: Path) -> None:
    target = tmp_path / "models"

    run = cli("fetch", "--all", "--model-dir", target, "--mirror", storage)

    assert run.code == 0, run.err
    assert "converted and proved" in run.out and "yolo" not in run.out + run.err
    assert _files(target) == sorted(
        [POSE.file, POSE.file + ".json", ATTRIBUTES.file, ATTRIBUTES.file + ".json"]
    )
    assert cli("verify", "--model-dir", target).code == 0
    again = cli("fetch", "--all", "--model-dir", target, "--mirror", refusing_url())
    assert again.code == 0 and again.out.count("already present") == 2


@pytest.mark.parametrize(
    ("row", "frame_shape"),
    [(POSE, (1, 3, 256, 456)), (POSE, (1, 3, 368, 640)), (ATTRIBUTES, (1, 3, 160, 80))],
)
def test_converted_models_compute_what_the_reference_files_compute(
    converted: Path, model_dir: Path, video_dir: Path, row: Any, frame_shape: tuple[int, ...]
) -> None:
    import cv2
    import onnxruntime as ort

    capture = cv2.VideoCapture(str(video_dir / "store-aisle-detection.gif"))
    ok, frame = capture.read()
    assert ok
    _, _, height, width = frame_shape
    tensor = cv2.resize(frame, (width, height)).transpose(2, 0, 1)[None].astype(np.float32)
    outputs = {}
    for folder in (converted, model_dir):
        session = ort.InferenceSession(str(resolve(row, folder)), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        outputs[folder] = dict(
            zip(names, session.run(names, {session.get_inputs()[0].name: tensor}), strict=True)
        )
    for name, reference in outputs[model_dir].items():
        np.testing.assert_allclose(
            outputs[converted][name], reference, atol=1e-4 * float(np.abs(reference).max())
        )


def test_the_edge_chain_runs_on_converted_models(converted: Path, model_dir: Path, video_dir: Path) -> None:
    from anonflow.edge.analyze import analyze_video
    from anonflow.edge.chain import build_chain
    from anonflow.edge.config import CameraChainConfig, ZoneConfig
    from anonflow.edge.video import VideoFile

    counts = {}
    for folder in (converted, model_dir):
        config = CameraChainConfig(zones=[ZoneConfig(id="aisle", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])])
        chain = build_chain(config, store_id="s", camera_id="c", model_dir=folder, threads=1)
        video = VideoFile(video_dir / "store-aisle-detection.gif", fps=4)
        out = folder / "entries.ndjson" if folder == converted else converted / "reference.ndjson"
        summary = analyze_video(video, chain, out, start_time_ms=1_764_000_000_000)
        counts[folder] = (summary.frames, summary.people_detected, summary.tracks, summary.entries)
    assert counts[converted] == counts[model_dir]
    assert counts[converted][1] > 0


def test_conversion_is_repeatable_to_the_byte(converted: Path, storage: str, tmp_path: Path) -> None:
    again = tmp_path / "again"
    fetch(ATTRIBUTES, again, storage, timeout_s=10)
    assert (again / ATTRIBUTES.file).read_bytes() == (converted / ATTRIBUTES.file).read_bytes()


# Positive controls: the proof must catch a converter that gets the arithmetic subtly wrong.
def _naive_weights(handlers: dict[str, Any]) -> None:
    """Skip the int8 -> float de-quantisation of weights: raw integer codes reach the convolutions."""
    original = handlers["FakeQuantize"]

    def skip(build: Any, layer: Any) -> None:
        value = build.arg(layer, 0)
        if isinstance(value, str):
            original(build, layer)
        else:
            build.fold(layer, value.astype(np.float32))

    handlers["FakeQuantize"] = skip


def _elu_as_relu(handlers: dict[str, Any]) -> None:
    """Treat ELU as ReLU (same for positive inputs; differs only below zero)."""
    handlers["Elu"] = handlers["ReLU"]


@pytest.mark.parametrize("break_converter", [_naive_weights, _elu_as_relu])
def test_the_probe_refuses_a_naive_converter(
    storage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, break_converter: Callable[..., None]
) -> None:
    from anonflow.models.convert import to_onnx

    handlers = dict(to_onnx._HANDLERS)
    break_converter(handlers)
    monkeypatch.setattr(to_onnx, "_HANDLERS", handlers)

    with pytest.raises(AnonflowError, match="does not reproduce the manifest's reference outputs") as error:
        fetch(POSE, tmp_path / "models", storage, timeout_s=10)

    assert "\n" not in str(error.value)
    assert _files(tmp_path / "models") == []


def _tampered_storage(upstream: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(upstream, copy)
    path = next(copy.rglob(Path(POSE.upstream[1].url).name))
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[5000:5004] = b"\x00\x01\x02\x03"
    path.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong file", "does not match the manifest (expected sha256 " + POSE.upstream[1].sha256),
        ("truncated", "truncated"),
        ("unreachable", "Connection refused"),
        ("not found", "HTTP 404"),
        ("silent", "timed out"),
    ],
)
def test_fetch_failures_are_one_line_and_write_nothing(
    cli: Cli, upstream: Path, tmp_path: Path, case: str, expected: str
) -> None:
    target, cache = tmp_path / "models", tmp_path / "cache"
    with (
        serving(_tampered_storage(upstream, tmp_path)) as tampered,
        serving(upstream, truncate_after=100_000) as truncating,
        serving(tmp_path / "cache", truncate_after=None) as empty,
        socket.create_server(("127.0.0.1", 0)) as silent,  # accepts connections, never answers
    ):
        mirror = {
            "wrong file": tampered,
            "truncated": truncating,
            "unreachable": refusing_url(),
            "not found": empty,
            "silent": f"http://127.0.0.1:{silent.getsockname()[1]}",
        }
        run = cli("fetch", POSE.name, "--model-dir", target, "--mirror", mirror[case], "--timeout", "2")

    assert run.code == 2
    assert expected in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert _files(target) == []
    assert not [p for p in cache.rglob("*.part")]


def test_a_full_disk_in_the_cache_is_one_line(storage: str, tmp_path: Path) -> None:
    # No small filesystem can be mounted here: the injected sink plays a disk that fills after 64 KiB.
    class FullDisk:
        def __init__(self, path: Path) -> None:
            self.handle = path.open("wb")
            self.written = 0

        def write(self, block: bytes) -> int:
            if self.written + len(block) > 65536:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(block)
            return self.handle.write(block)

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

    with pytest.raises(AnonflowError, match="no space left") as error:
        fetch(POSE, tmp_path / "models", storage, timeout_s=10, sink=FullDisk)  # type: ignore[arg-type]

    assert "\n" not in str(error.value)
    assert _files(tmp_path / "models") == []
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_a_full_disk_in_the_model_dir_leaves_nothing_half_written(
    storage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model bytes land in their temporary file; then the sidecar's write fails with ENOSPC (played by
    # patching Path.write_text for that one file: no small filesystem can be mounted here).
    real = Path.write_text

    def full(self: Path, *args: Any, **kwargs: Any) -> int:
        if self.name.endswith(".json.part"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    target = tmp_path / "models"

    with pytest.raises(AnonflowError, match="no space left in") as error:
        fetch(ATTRIBUTES, target, storage, timeout_s=10)

    assert "\n" not in str(error.value)
    assert _files(target) == []


def test_registry_refuses_a_converted_file_that_changed(converted: Path, tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "models"
    shutil.copytree(converted, target, ignore=shutil.ignore_patterns("*.ndjson"))
    path = target / ATTRIBUTES.file
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))

    run = cli("verify", ATTRIBUTES.name, "--model-dir", target)

    assert run.code == 1
    assert "does not match its sidecar" in run.out


def test_registry_refuses_a_sidecar_from_another_release(converted: Path, tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "models"
    shutil.copytree(converted, target, ignore=shutil.ignore_patterns("*.ndjson"))
    sidecar = target / (ATTRIBUTES.file + ".json")
    sidecar.write_text(sidecar.read_text().replace(ATTRIBUTES.upstream[1].sha256, "0" * 64))

    run = cli("verify", ATTRIBUTES.name, "--model-dir", target)

    assert run.code == 1
    assert "another release" in run.out


def test_copyleft_model_only_by_name_with_its_licence(cli: Cli, model_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "models"
    with serving(model_dir) as mirror:  # no conversion: the exact ONNX from a mirror of a model directory
        run = cli("fetch", YOLO.name, "--model-dir", target, "--mirror", mirror)

    assert run.code == 0, run.err
    assert "AGPL-3.0" in run.err and "copyleft" in run.err
    assert (target / YOLO.file).read_bytes() == (model_dir / YOLO.file).read_bytes()


def test_fetch_of_a_derived_model_says_how_it_is_made(cli: Cli, tmp_path: Path) -> None:
    run = cli("fetch", "openpose-lightweight-int8", "--model-dir", tmp_path, "--mirror", "http://127.0.0.1:9")

    assert run.code == 2
    assert "made locally" in run.err and "anonflow models quantize" in run.err


def test_fetch_keeps_a_verified_file_without_network(cli: Cli, writable_models: Path) -> None:
    run = cli("fetch", ATTRIBUTES.name, "--model-dir", writable_models, "--mirror", refusing_url())

    assert run.code == 0, run.err
    assert "already present" in run.out
