"""The attribute network behind a small adapter: anonymous crops in, named probabilities out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.edge.demographics import DEFAULT_ABSTENTION, Abstention, abstention_of
from anonflow.edge.modelfiles.derived import read_sidecar
from anonflow.edge.modelfiles.registry import ModelSpec, resolve

# Which output of each attribute family holds the probabilities, and its shape per crop.
_FAMILY_OUTPUT: dict[str, str] = {"omz-person-attributes": "453"}


@dataclass(frozen=True, slots=True)
class AttributeScores:
    """Attribute probabilities per crop.

    probabilities: float32 [N, L] in [0, 1], columns named by `labels` (the manifest's label list).
    """

    labels: tuple[str, ...]
    probabilities: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        if self.probabilities.ndim != 2 or self.probabilities.shape[1] != len(self.labels):
            raise ValueError(
                f"probabilities must have shape [N, {len(self.labels)}], got {list(self.probabilities.shape)}"
            )


class AttributeModel:
    """An ONNX attribute network reading uint8 BGR crops [N, 160, 80, 3]. Load once, run many."""

    def __init__(
        self,
        spec: ModelSpec,
        session: object,
        abstention: Abstention = DEFAULT_ABSTENTION,
        *,
        flip_average: bool = False,
    ) -> None:
        self.spec = spec
        self.labels = spec.labels
        # Read each crop and its mirror image and average: a body's left and right tell the same.
        self.flip_average = flip_average
        # When a track's smoothed reading is confident enough to name (a trained model's own thresholds).
        self.abstention = abstention
        self._session = session
        inputs = session.get_inputs()  # type: ignore[attr-defined]
        outputs = {o.name: o.shape for o in session.get_outputs()}  # type: ignore[attr-defined]
        self._output = _FAMILY_OUTPUT.get(spec.family, next(iter(outputs), ""))
        expected = f"input [1,3,160,80] and output {self._output} [1,{len(self.labels)},...]"
        if len(inputs) != 1 or list(inputs[0].shape)[1:] != [3, 160, 80] or self._output not in outputs:
            got = [(i.name, i.shape) for i in inputs], outputs
            raise InputError(
                f"attribute model {spec.name} has an unexpected layout {got}; expected {expected}"
            )
        self._input = inputs[0].name
        self._batched = not isinstance(inputs[0].shape[0], int) or inputs[0].shape[0] != 1

    def __call__(self, crops: npt.NDArray[np.uint8]) -> AttributeScores:
        if crops.ndim != 4 or crops.shape[1:] != (160, 80, 3):
            raise ValueError(f"crops must have shape [N, 160, 80, 3], got {list(crops.shape)}")
        if len(crops) == 0:
            return AttributeScores(self.labels, np.zeros((0, len(self.labels)), np.float32))
        if self.flip_average:
            both = self._read(np.concatenate([crops, crops[:, :, ::-1]]))
            mean = ((both[: len(crops)] + both[len(crops) :]) / 2).astype(np.float32)
            return AttributeScores(self.labels, mean)
        return AttributeScores(self.labels, self._read(crops))

    def _read(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """float32 [N, L] in [0, 1]: the network's outputs on uint8 crops [N, 160, 80, 3]."""
        tensor = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)
        if self._batched:
            raw = self._session.run([self._output], {self._input: tensor})[0]  # type: ignore[attr-defined]
        else:
            raw = np.concatenate(
                [
                    self._session.run([self._output], {self._input: tensor[i : i + 1]})[0]  # type: ignore[attr-defined]
                    for i in range(len(tensor))
                ]
            )
        probs = np.asarray(raw, np.float32).reshape(len(crops), -1)
        if probs.shape[1] != len(self.labels):
            raise InputError(
                f"attribute model {self.spec.name} gave {probs.shape[1]} values per crop, "
                f"the manifest names {len(self.labels)} labels"
            )
        clipped: npt.NDArray[np.float32] = np.clip(probs, 0.0, 1.0)
        return clipped


def load_attribute_model(
    spec: ModelSpec, model_dir: Path, threads: int = 1, *, flip_average: bool = False
) -> AttributeModel:
    import onnxruntime as ort

    path = resolve(spec, model_dir)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    abstention = (
        abstention_of(read_sidecar(path).details, f"sidecar of {path}")
        if spec.derived_from
        else DEFAULT_ABSTENTION
    )
    return AttributeModel(spec, session, abstention, flip_average=flip_average)
