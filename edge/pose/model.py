"""The ONNX Runtime adapter: one verified model file, one session, one family decoder. Load once, run many."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from anonflow.contract.errors import InputError, ModelFileError
from anonflow.edge.modelfiles.quantize import INT8_MODEL
from anonflow.edge.modelfiles.registry import ModelSpec, default_model, resolve, spec
from anonflow.edge.pose.openpose import OpenPoseDecoder
from anonflow.edge.pose.types import PoseDecoder, Poses
from anonflow.edge.pose.yolo import YoloPoseDecoder

FAMILIES = ("openpose", "yolo-pose")
log = logging.getLogger(__name__)
_fallbacks_logged: set[Path] = set()
_fallbacks_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class PoseTiming:
    """Wall time of one frame's stages in milliseconds: input preparation, network, decoding."""

    prepare_ms: float
    inference_ms: float
    decode_ms: float

    @property
    def total_ms(self) -> float:
        return self.prepare_ms + self.inference_ms + self.decode_ms


class PoseModel:
    """A pose network ready to run: BGR uint8 frame [H, W, 3] in, `Poses` in frame pixels out."""

    def __init__(self, spec: ModelSpec, session: ort.InferenceSession, decoder: PoseDecoder) -> None:
        self.spec = spec
        self.session = session
        self.decoder = decoder
        self._output_names = [o.name for o in session.get_outputs()]

    def __call__(self, frame: npt.NDArray[np.uint8]) -> Poses:
        return self.infer(frame)[0]

    def infer(self, frame: npt.NDArray[np.uint8]) -> tuple[Poses, PoseTiming]:
        """The people in `frame` and the time each stage took."""
        check_frame(frame)
        t0 = time.perf_counter()
        tensor, context = self.decoder.prepare(frame)
        t1 = time.perf_counter()
        raw = self.session.run(self._output_names, {self.decoder.input_name: tensor})
        t2 = time.perf_counter()
        poses = self.decoder.decode(dict(zip(self._output_names, raw, strict=True)), context)
        t3 = time.perf_counter()
        return poses, PoseTiming((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3)


def check_frame(frame: npt.NDArray[np.uint8]) -> None:
    """InputError unless `frame` is a BGR uint8 [H, W, 3] image of at least 2x2 pixels."""
    if not isinstance(frame, np.ndarray):
        raise InputError(f"a frame must be a uint8 [H, W, 3] BGR array, got {type(frame).__name__}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"a frame must be uint8 [H, W, 3] BGR, got {frame.dtype} {list(frame.shape)}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise InputError(f"a frame must be at least 2x2 pixels, got {frame.shape[1]}x{frame.shape[0]}")


def choose_pose_model(name: str | None, model_dir: Path) -> ModelSpec:
    """The pose model to run: `name` when given; else (the default) the int8 model when `model_dir`
    holds a verified one, or the float model it is made from, said once per directory in the log."""
    if name is not None:
        return spec(name, "pose")
    fast = spec(INT8_MODEL, "pose")
    try:
        resolve(fast, model_dir)
        return fast
    except ModelFileError as error:
        why = error
    fallback = default_model("pose")
    resolve(fallback, model_dir)  # a damaged float file is its own one-line error, before any log line
    with _fallbacks_lock:
        first = model_dir not in _fallbacks_logged
        _fallbacks_logged.add(model_dir)
    if first:
        log.info(
            "pose model: running the float %s, about 3x slower than %s (%s); a gateway makes the "
            "int8 model at first start when `derived_model_dir` is set, a workstation with "
            "`anonflow models quantize`",
            fallback.name,
            fast.name,
            why,
            extra={"event": "pose_model_float", "model_dir": str(model_dir)},
        )
    return fallback


def load_pose_model(
    spec: ModelSpec, model_dir: Path, threads: int = 2, input_height: int | None = None
) -> PoseModel:
    """Verify the model file against the manifest, open a session and pair it with its family decoder.

    threads: intra-op threads for ONNX Runtime. input_height: network input height for families
    with a free input size (OpenPose); families with a fixed input reject any other value.
    """
    if spec.role != "pose":
        raise InputError(f"model {spec.name} is a {spec.role} model, not a pose model")
    if spec.family not in FAMILIES:
        raise InputError(f"pose model {spec.name} has unknown family {spec.family!r}; known: {FAMILIES}")
    if not 1 <= threads <= 64:
        raise InputError(f"pose threads must be in [1, 64], got {threads}")
    path = resolve(spec, model_dir)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own hierarchy; any failure means the same.
        raise ModelFileError(f"model file {path} for {spec.name} cannot be loaded: {error}") from error
    decoder = _decoder_for(spec, session, input_height)
    _check_io(spec, session, decoder)
    return PoseModel(spec, session, decoder)


def _decoder_for(
    spec: ModelSpec, session: ort.InferenceSession, input_height: int | None
) -> OpenPoseDecoder | YoloPoseDecoder:
    if spec.family == "openpose":
        return OpenPoseDecoder() if input_height is None else OpenPoseDecoder(input_height=input_height)
    shape = session.get_inputs()[0].shape
    size = shape[-1] if len(shape) == 4 and isinstance(shape[-1], int) and shape[-1] == shape[-2] else None
    if size is None:
        raise InputError(
            f"pose model {spec.name} has input shape {shape}; the yolo-pose decoder expects a fixed "
            "square input [1,3,S,S]"
        )
    if input_height is not None and input_height != size:
        raise InputError(
            f"pose model {spec.name} has a fixed {size}x{size} input; got input height {input_height}"
        )
    return YoloPoseDecoder(size=size)


def _check_io(
    spec: ModelSpec, session: ort.InferenceSession, decoder: OpenPoseDecoder | YoloPoseDecoder
) -> None:
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    fits = (
        list(inputs) == [decoder.input_name]
        and len(inputs[decoder.input_name]) == 4
        and sorted(outputs) == sorted(decoder.output_names)
        and all(
            len(outputs[name]) == rank
            for name, rank in zip(decoder.output_names, decoder.output_ranks, strict=True)
        )
    )
    if not fits:
        raise InputError(
            f"pose model {spec.name} has inputs {inputs} and outputs {outputs}, which the {spec.family} "
            f"decoder cannot read; expected layout: {decoder.layout}"
        )
