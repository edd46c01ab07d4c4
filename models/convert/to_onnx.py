"""An IR graph -> an ONNX model (opset 13, float32) with the `onnx` package's helpers.

Constant sub-graphs (weights, their int8 -> float de-quantisation, depth-wise weight reshapes) are folded
in numpy, so the ONNX file holds plain float32 weights. FakeQuantize on activations is dropped: it emulates
int8 arithmetic that ONNX Runtime's float kernels do not need (the manifest's reference ONNX files were made
the same way; see MODELS.md). Each layer type has one small handler; an unknown type is one error naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from anonflow.models.convert.ir import ConversionError, IrGraph, Layer, PortRef, constant, ints

OPSET = 13
PRODUCER = "anonflow.models.convert"

Array = npt.NDArray[np.generic]
Value = Array | str  # a folded constant, or the name of an ONNX tensor


@dataclass(frozen=True, slots=True)
class Naming:
    """How the ONNX graph's interface is named: the input tensor, and which input axes are dynamic
    (axis index -> symbolic name, e.g. {2: 'height', 3: 'width'})."""

    input_name: str = ""
    dynamic_axes: Mapping[int, str] = field(default_factory=dict)


@dataclass
class _Build:
    graph: IrGraph
    weights: bytes
    label: str
    naming: Naming
    values: dict[PortRef, Value] = field(default_factory=dict)
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    inputs: list[onnx.ValueInfoProto] = field(default_factory=list)
    outputs: list[onnx.ValueInfoProto] = field(default_factory=list)
    dropped_fake_quantize: int = 0

    def arg(self, layer: Layer, k: int) -> Value:
        return self.values[layer.inputs[k]]

    def const(self, layer: Layer, k: int) -> Array:
        value = self.arg(layer, k)
        if isinstance(value, str):
            raise ConversionError(f"{self.label}: input {k} of {layer.type} {layer.name!r} must be constant")
        return value

    def tensor(self, value: Value, hint: str) -> str:
        """The ONNX tensor name of `value`, adding a float32 (or int64) initializer for a constant."""
        if isinstance(value, str):
            return value
        name = f"{hint}/const{len(self.initializers)}"
        array = value if value.dtype == np.int64 else value.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def emit(self, layer: Layer, op: str, inputs: list[str], **attrs: Any) -> None:
        port = layer.outputs[0]
        name = port.names[0] if port.names else layer.name
        self.nodes.append(helper.make_node(op, inputs, [name], name=layer.name, **attrs))
        self.values[PortRef(layer.id, port.id)] = name

    def fold(self, layer: Layer, value: Array) -> None:
        self.values[PortRef(layer.id, layer.outputs[0].id)] = value


@dataclass(frozen=True, slots=True)
class Converted:
    """The ONNX model and facts about the conversion (for the sidecar)."""

    model: onnx.ModelProto
    dropped_fake_quantize: int
    layers: int


def convert(graph: IrGraph, weights: bytes, label: str, naming: Naming) -> Converted:
    """The ONNX model computing what `graph` computes (float32; activation FakeQuantize dropped)."""
    build = _Build(graph, weights, label, naming)
    for layer in graph.layers:
        handler = _HANDLERS.get(layer.type)
        if handler is None:
            raise ConversionError(
                f"{label}: layer {layer.name!r} has type {layer.type}, which the converter does not support"
            )
        handler(build, layer)
    onnx_graph = helper.make_graph(build.nodes, graph.name, build.inputs, build.outputs, build.initializers)
    model = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER
    )
    model.ir_version = 8  # readable by every ONNX Runtime the edge supports
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConversionError(f"{label}: the converted model is not valid ONNX: {first}") from None
    return Converted(model, build.dropped_fake_quantize, len(graph.layers))


def _parameter(b: _Build, layer: Layer) -> None:
    port = layer.outputs[0]
    name = b.naming.input_name or (port.names[0] if port.names else layer.name)
    dims: list[int | str] = [b.naming.dynamic_axes.get(i, d) for i, d in enumerate(port.dims)]
    b.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
    b.values[PortRef(layer.id, port.id)] = name


def _const(b: _Build, layer: Layer) -> None:
    b.fold(layer, constant(layer, b.weights, b.label))


def _convert(b: _Build, layer: Layer) -> None:
    value = b.arg(layer, 0)
    if isinstance(value, str):
        b.values[PortRef(layer.id, layer.outputs[0].id)] = value  # float -> float on an activation
        return
    # Integer weights become float32 exactly; f16 is widened to f32 (the ONNX graph is float32 throughout).
    target = layer.data.get("destination_type", "f32")
    b.fold(layer, value.astype(np.float32 if target.startswith("f") else np.dtype(_int_type(target, b))))


def _int_type(target: str, b: _Build) -> str:
    kinds = {"i64": "<i8", "i32": "<i4", "u8": "u1", "i8": "i1"}
    if target not in kinds:
        raise ConversionError(f"{b.label}: Convert to {target} is not supported")
    return kinds[target]


def _fake_quantize(b: _Build, layer: Layer) -> None:
    value = b.arg(layer, 0)
    if isinstance(value, str):
        b.dropped_fake_quantize += 1
        b.values[PortRef(layer.id, layer.outputs[0].id)] = value
        return
    x = value.astype(np.float32)
    in_lo, in_hi, out_lo, out_hi = (b.const(layer, k).astype(np.float32) for k in (1, 2, 3, 4))
    levels = int(layer.data["levels"])
    # OpenVINO FakeQuantize: clamp to the input range, round to `levels` steps, map to the output range.
    scaled = (
        np.round((x - in_lo) / (in_hi - in_lo) * (levels - 1)) / (levels - 1) * (out_hi - out_lo) + out_lo
    )
    out = np.where(
        x <= np.minimum(in_lo, in_hi), out_lo, np.where(x > np.maximum(in_lo, in_hi), out_hi, scaled)
    )
    b.fold(layer, out.astype(np.float32))


def _binary(op: str, fn: Callable[[Array, Array], Array]) -> Callable[[_Build, Layer], None]:
    def handle(b: _Build, layer: Layer) -> None:
        left, right = b.arg(layer, 0), b.arg(layer, 1)
        if not isinstance(left, str) and not isinstance(right, str):
            b.fold(layer, fn(left.astype(np.float32), right.astype(np.float32)))
            return
        b.emit(layer, op, [b.tensor(left, layer.name), b.tensor(right, layer.name)])

    return handle


def _unary(op: str, **fixed: Any) -> Callable[[_Build, Layer], None]:
    def handle(b: _Build, layer: Layer) -> None:
        attrs = dict(fixed)
        if op == "Elu":
            attrs["alpha"] = float(layer.data.get("alpha", "1.0"))
        b.emit(layer, op, [b.tensor(b.arg(layer, 0), layer.name)], **attrs)

    return handle


def _spatial(layer: Layer, b: _Build) -> dict[str, Any]:
    auto_pad = layer.data.get("auto_pad", "explicit")
    if auto_pad not in ("explicit", "notset", ""):
        raise ConversionError(f"{b.label}: {layer.name!r} uses auto_pad={auto_pad}, which is not supported")
    return {
        "strides": list(ints(layer.data["strides"])),
        "pads": list(ints(layer.data["pads_begin"]) + ints(layer.data["pads_end"])),
        "dilations": list(ints(layer.data.get("dilations", "1,1"))),
    }


def _convolution(b: _Build, layer: Layer) -> None:
    weights = b.const(layer, 1).astype(np.float32)
    group = 1
    if layer.type == "GroupConvolution":  # [G, O/G, I/G, kh, kw] -> [O, I/G, kh, kw], group=G
        group = weights.shape[0]
        weights = weights.reshape(group * weights.shape[1], *weights.shape[2:])
    b.emit(
        layer,
        "Conv",
        [b.tensor(b.arg(layer, 0), layer.name), b.tensor(weights, layer.name)],
        kernel_shape=list(weights.shape[2:]),
        group=group,
        **_spatial(layer, b),
    )


def _max_pool(b: _Build, layer: Layer) -> None:
    spatial = _spatial(layer, b)
    b.emit(
        layer,
        "MaxPool",
        [b.tensor(b.arg(layer, 0), layer.name)],
        kernel_shape=list(ints(layer.data["kernel"])),
        ceil_mode=int(layer.data.get("rounding_type", "floor") == "ceil"),
        **spatial,
    )


def _reshape(b: _Build, layer: Layer) -> None:
    value, shape = b.arg(layer, 0), b.const(layer, 1).astype(np.int64)
    special_zero = layer.data.get("special_zero", "false").lower() == "true"
    if isinstance(value, str):
        if not special_zero and 0 in shape:
            raise ConversionError(f"{b.label}: reshape {layer.name!r} to a zero-size dim is not supported")
        b.emit(layer, "Reshape", [value, b.tensor(shape, layer.name)])
        return
    target = [value.shape[i] if special_zero and d == 0 else int(d) for i, d in enumerate(shape)]
    b.fold(layer, value.reshape(target))


def _concat(b: _Build, layer: Layer) -> None:
    names = [b.tensor(b.arg(layer, k), layer.name) for k in range(len(layer.inputs))]
    b.emit(layer, "Concat", names, axis=int(layer.data["axis"]))


def _reduce_max(b: _Build, layer: Layer) -> None:
    axes = [int(a) for a in np.atleast_1d(b.const(layer, 1))]
    keep = int(layer.data.get("keep_dims", "false").lower() == "true")
    b.emit(layer, "ReduceMax", [b.tensor(b.arg(layer, 0), layer.name)], axes=axes, keepdims=keep)


def _result(b: _Build, layer: Layer) -> None:
    value = b.arg(layer, 0)
    if not isinstance(value, str):
        raise ConversionError(f"{b.label}: output {layer.name!r} is a constant")
    producer = next(lay for lay in b.graph.layers if lay.id == layer.inputs[0].layer)
    rank = len(next(p.dims for p in producer.outputs if p.id == layer.inputs[0].port))
    # Rank only: sizes follow the input's (possibly dynamic) height and width.
    b.outputs.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, [None] * rank))


_HANDLERS: Mapping[str, Callable[[_Build, Layer], None]] = {
    "Parameter": _parameter,
    "Const": _const,
    "Convert": _convert,
    "FakeQuantize": _fake_quantize,
    "Add": _binary("Add", np.add),
    "Subtract": _binary("Sub", np.subtract),
    "Multiply": _binary("Mul", np.multiply),
    "Convolution": _convolution,
    "GroupConvolution": _convolution,
    "MaxPool": _max_pool,
    "Reshape": _reshape,
    "Concat": _concat,
    "ReduceMax": _reduce_max,
    "ReLU": _unary("Relu"),
    "Elu": _unary("Elu"),
    "Sigmoid": _unary("Sigmoid"),
    "Result": _result,
}
