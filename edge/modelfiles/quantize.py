"""Static int8 quantisation of the OpenPose network with ONNX Runtime, calibrated on store frames.

The gateway makes its own int8 pose model (edge.modelfiles.workdir, at first start) and so does a
workstation (`anonflow models quantize`); both run `make_int8` here.

Calibration runs the float model on real frames, preprocessed exactly as the edge decoder does it
(`OpenPoseDecoder.prepare`: resize to the input height keeping aspect, zero-pad right to a multiple of 8,
BGR 0-255, NCHW), records each activation's distribution, and fixes the int8 scales from it. Weights are
quantised per output channel. The model keeps its dynamic height and width; only the calibration
tensors are zero-padded right to one common width, because ONNX Runtime's histogram calibrators stack
them (zeros, like the decoder's own right padding).

Calibration method: the 99.999th percentile of each activation's magnitude, not its min/max. A few
outlying activations otherwise stretch the int8 range so far that weak heatmap peaks (small, distant
people) vanish: measured on the sample videos, min/max kept 86 % of key points on the store aisle and
51 % on the small-people walkway, the percentile 97 % and 72 % (bench/quantize.py prints the figures).

Formats: QDQ (QuantizeLinear/DequantizeLinear pairs around float ops) is the default. On the CPU
execution provider ONNX Runtime fuses the pairs into the same int8 kernels (QLinearConv) a QOperator
model names directly: both formats gave identical outputs and the same speed on the gateways measured
(bench/quantize.py), and QDQ is the form accelerator execution providers (OpenVINO, TensorRT, QNN)
read. Activations are uint8, weights int8 per channel: ONNX Runtime's recommended x86 combination; on
CPUs without VNNI the uint8 x int8 products can saturate, so check such a gateway with `evaluate`.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import AnonflowError, InputError
from anonflow.edge.modelfiles.derived import Sidecar, write_sidecar
from anonflow.edge.modelfiles.hashing import sha256_of
from anonflow.edge.modelfiles.registry import resolve, spec
from anonflow.edge.pose.openpose import OpenPoseDecoder

INT8_MODEL: Final = "openpose-lightweight-int8"
Format = Literal["qdq", "qoperator"]
Calibration = Literal["percentile", "minmax"]
PERCENTILE: Final = 99.999


class FrameFeed:
    """The calibration reader: one network input feed per preprocessed frame, then None.

    tensors: float32 [1, 3, H, W] each (H, W may differ between tensors); `input_name` is the network's.
    Implements onnxruntime.quantization.CalibrationDataReader (`get_next`, `rewind`) by duck typing.
    """

    def __init__(self, input_name: str, tensors: Sequence[npt.NDArray[np.float32]]) -> None:
        for tensor in tensors:
            if tensor.ndim != 4 or tensor.shape[:2] != (1, 3) or tensor.dtype != np.float32:
                raise ValueError(f"calibration tensors must be float32 [1, 3, H, W], got {tensor.shape}")
        self.input_name = input_name
        width = max((t.shape[3] for t in tensors), default=0)
        self._tensors = [np.pad(t, ((0, 0), (0, 0), (0, 0), (0, width - t.shape[3]))) for t in tensors]
        self._iter: Iterator[npt.NDArray[np.float32]] = iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        tensor = next(self._iter, None)
        return None if tensor is None else {self.input_name: tensor}

    def rewind(self) -> None:
        self._iter = iter(self._tensors)


def quantize_model(
    source: Path, target: Path, feed: FrameFeed, fmt: Format, calibration: Calibration = "percentile"
) -> None:
    """Write an int8 copy of the float ONNX `source` to `target`, calibrated with `feed`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # The histogram calibrators print progress to stdout; the callers print their own report there.
    with (
        tempfile.TemporaryDirectory(prefix="anonflow-quantize-") as tmp,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference and constant folding first, as ONNX Runtime's quantiser recommends.
        quant_pre_process(str(source), str(prepared))
        quantize_static(
            str(prepared),
            str(Path(tmp) / "int8.onnx"),
            feed,  # a CalibrationDataReader by duck typing
            quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=(
                CalibrationMethod.Percentile if calibration == "percentile" else CalibrationMethod.MinMax
            ),
            extra_options={"CalibPercentile": PERCENTILE},
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(tmp) / "int8.onnx", target)


def make_int8(
    directory: Path,
    frames: Sequence[npt.NDArray[np.uint8]],
    *,
    made_by: str,
    details: dict[str, Any],
    input_height: int = 256,
    fmt: Format = "qdq",
    calibration: Calibration = "percentile",
    output: Path | None = None,
) -> Sidecar:
    """Make the int8 pose model from the float one in `directory`, calibrated on BGR uint8 `frames`.

    Writes it to `output` (default: the int8 manifest row's path in `directory`) with its sidecar, which
    records `made_by` and how it was made (`details` plus the quantisation settings).
    """
    if not frames:
        raise InputError("no calibration frames to quantise the pose model with")
    target_spec = spec(INT8_MODEL, "pose")
    parent = spec(target_spec.derived_from, "pose")
    source = resolve(parent, directory)
    target = output if output is not None else directory / target_spec.file
    if target.resolve() == source.resolve():
        raise InputError(f"the output {target} would overwrite the float model")
    decoder = OpenPoseDecoder(input_height=input_height)
    feed = FrameFeed(decoder.input_name, [decoder.prepare(frame)[0] for frame in frames])
    try:
        quantize_model(source, target, feed, fmt, calibration)
    except PermissionError as error:
        raise AnonflowError(f"cannot write {target}: {error.strerror}") from None
    sidecar = Sidecar(
        name=target_spec.name,
        sha256=sha256_of(target),
        parent_name=parent.name,
        parent_sha256=parent.sha256,
        made_by=made_by,
        details={
            "format": fmt,
            "activations": "uint8",
            "weights": "int8 per channel",
            "calibration": f"percentile {PERCENTILE}" if calibration == "percentile" else "minmax",
            "input_height": input_height,
            "calibration_frames": len(feed),
            **details,
        },
    )
    write_sidecar(target, sidecar)
    return sidecar
