"""The non-linear gender head: learns what a linear one cannot, and the exported graph computes it exactly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from anonflow.models.train.graph import OPSET
from anonflow.models.train.kernel import KernelGender, decision_temperature, fit_kernel_gender, kernel_nodes


def _ring(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Males inside a ring, females outside it: no line separates them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    y = (np.linalg.norm(x[:, :2], axis=1) < 1.2).astype(np.int64)
    return x, y


def calibrated(kernel: KernelGender, x: np.ndarray, y: np.ndarray) -> KernelGender:
    return replace(kernel, temperature=decision_temperature(kernel.decision(x), y))


def test_kernel_head_separates_what_a_line_cannot() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _ring(600, seed=0)
    y[:20] = -1  # unknown labels are ignored
    kernel = fit_kernel_gender(x[:400], y[:400])
    assert kernel is not None
    kernel = calibrated(kernel, x[400:500], y[400:500])

    test, truth = x[500:], y[500:]
    accuracy = ((kernel.logit(test) > 0) == truth).mean()
    line = LogisticRegression().fit(x[20:400], y[20:400]).score(test, truth)
    assert accuracy > 0.85 and line < 0.7  # positive control: the linear head fails on the same data
    assert 0.05 <= kernel.temperature <= 5.0


def test_one_labelled_class_gives_no_kernel_head() -> None:
    x, _ = _ring(50, seed=1)
    assert fit_kernel_gender(x, np.ones(50, np.int64)) is None


def test_exported_kernel_nodes_compute_the_same_logit() -> None:
    x, y = _ring(300, seed=2)
    kernel = fit_kernel_gender(x[:200], y[:200])
    assert kernel is not None
    kernel = calibrated(kernel, x[200:], y[200:])
    nodes, constants = kernel_nodes(kernel, "features", "logit")
    graph = helper.make_graph(
        nodes,
        "kernel",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, [1, 1])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    onnx_logits = [session.run(None, {"features": row[None]})[0][0, 0] for row in x[:20]]

    np.testing.assert_allclose(onnx_logits, kernel.logit(x[:20]), rtol=1e-4, atol=1e-4)
