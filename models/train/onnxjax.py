"""The attribute backbone's ONNX graph run by JAX, its weights as trainable parameters.

Why JAX: end-to-end fine-tuning needs gradients through the network. JAX installs from PyPI as a CPU-only
wheel of a few hundred MB (a PyPI `torch` wheel pulls gigabytes of CUDA packages; onnxruntime-training
stopped at 1.19). The backbone uses a dozen simple operators (Conv, Add, Mul, Sub, Relu, Concat, MaxPool,
global pooling), so interpreting the graph keeps the ONNX file the single source of the architecture:
training reads the parent's initializers, export writes the trained values back into a copy of the same
graph, and the edge's input contract cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import onnx
from onnx import numpy_helper

from anonflow.contract.errors import ModelFileError

Params = dict[str, jax.Array]
SUPPORTED: Final = frozenset(
    {"Identity", "Sub", "Add", "Mul", "Relu", "Conv", "Concat", "MaxPool", "AveragePool"}
    | {"GlobalAveragePool", "GlobalMaxPool", "Flatten"}
)


@dataclass(frozen=True, slots=True)
class Node:
    """One graph node: operator, input and output tensor names, attributes as Python values."""

    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class JaxGraph:
    """A feed-forward ONNX graph split into trainable parameters and frozen constants.

    params: float32 initializers that learn (convolution weights, biases, scales); frozen: the rest
    (the input mean the graph subtracts). forward(params, x): x float32 [N, 3, 160, 80] BGR 0-255 ->
    the graph's single output.
    """

    nodes: tuple[Node, ...]
    params: dict[str, npt.NDArray[np.float32]]
    frozen: dict[str, npt.NDArray[Any]]
    input_name: str
    output_name: str

    def forward(self, params: Params, x: jax.Array) -> jax.Array:
        values: dict[str, jax.Array] = {self.input_name: x}
        values.update({k: jnp.asarray(v) for k, v in self.frozen.items()})
        values.update(params)
        for node in self.nodes:
            args = [values[name] for name in node.inputs if name]
            values[node.outputs[0]] = _OPS[node.op](args, node.attrs)
        return values[self.output_name]


def from_onnx(model: onnx.ModelProto) -> JaxGraph:
    """The JAX view of `model` (one input, one output, operators of `SUPPORTED` only)."""
    graph = model.graph
    unsupported = sorted({n.op_type for n in graph.node} - SUPPORTED)
    if unsupported:
        raise ModelFileError(f"cannot train through operators {unsupported}; supported: {sorted(SUPPORTED)}")
    initial = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    # The mean the graph subtracts from the input is part of the input contract, not something to learn.
    fixed = {name for node in graph.node if node.op_type == "Sub" for name in node.input}
    params = {k: v.astype(np.float32) for k, v in initial.items() if k not in fixed and v.dtype == np.float32}
    frozen = {k: v for k, v in initial.items() if k not in params}
    nodes = tuple(
        Node(
            n.op_type,
            tuple(n.input),
            tuple(n.output),
            {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute},
        )
        for n in graph.node
    )
    return JaxGraph(nodes, params, frozen, graph.input[0].name, graph.output[0].name)


def with_params(model: onnx.ModelProto, params: dict[str, npt.NDArray[np.float32]]) -> onnx.ModelProto:
    """A copy of `model` whose initializers named in `params` hold the given values (same shapes)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for init in out.graph.initializer:
        if init.name in params:
            value = np.asarray(params[init.name], np.float32)
            if tuple(init.dims) != value.shape:
                raise ValueError(f"{init.name}: shape {value.shape} does not match {tuple(init.dims)}")
            init.CopyFrom(numpy_helper.from_array(value, init.name))
    return out


def _conv(args: list[jax.Array], attrs: dict[str, Any]) -> jax.Array:
    x, w = args[0], args[1]
    pads = attrs.get("pads", [0, 0, 0, 0])
    half = len(pads) // 2
    y = jax.lax.conv_general_dilated(
        x,
        w,
        window_strides=tuple(attrs.get("strides", [1, 1])),
        padding=[(pads[i], pads[i + half]) for i in range(half)],
        rhs_dilation=tuple(attrs.get("dilations", [1, 1])),
        feature_group_count=int(attrs.get("group", 1)),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )
    return y + args[2].reshape(1, -1, 1, 1) if len(args) > 2 else y


def _maxpool(args: list[jax.Array], attrs: dict[str, Any]) -> jax.Array:
    if attrs.get("ceil_mode", 0):
        raise ModelFileError("MaxPool with ceil_mode is not supported")
    k, s, p = attrs["kernel_shape"], attrs.get("strides", [1, 1]), attrs.get("pads", [0, 0, 0, 0])
    return jax.lax.reduce_window(
        args[0],
        -jnp.inf,
        jax.lax.max,
        (1, 1, *k),
        (1, 1, *s),
        [(0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])],
    )


def _averagepool(args: list[jax.Array], attrs: dict[str, Any]) -> jax.Array:
    # Only the unpadded form the backbone's stripes use: with pads, ONNX's count_include_pad matters.
    if attrs.get("ceil_mode", 0) or any(attrs.get("pads", [0, 0, 0, 0])):
        raise ModelFileError("AveragePool with padding or ceil_mode is not supported")
    k, s = attrs["kernel_shape"], attrs.get("strides", [1, 1])
    total = jax.lax.reduce_window(args[0], 0.0, jax.lax.add, (1, 1, *k), (1, 1, *s), "VALID")
    return total / float(np.prod(k))


_OPS: Final[dict[str, Callable[[list[jax.Array], dict[str, Any]], jax.Array]]] = {
    "Identity": lambda a, _: a[0],
    "Sub": lambda a, _: a[0] - a[1],
    "Add": lambda a, _: a[0] + a[1],
    "Mul": lambda a, _: a[0] * a[1],
    "Relu": lambda a, _: jax.nn.relu(a[0]),
    "Conv": _conv,
    "Concat": lambda a, at: jnp.concatenate(a, axis=int(at["axis"])),
    "MaxPool": _maxpool,
    "AveragePool": _averagepool,
    "GlobalAveragePool": lambda a, _: a[0].mean(axis=(2, 3), keepdims=True),
    "GlobalMaxPool": lambda a, _: a[0].max(axis=(2, 3), keepdims=True),
    "Flatten": lambda a, at: a[0].reshape(int(np.prod(a[0].shape[: int(at.get("axis", 1))])), -1),
}
