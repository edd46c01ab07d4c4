"""Read an OpenVINO IR (v10/v11: XML graph + BIN weights) into typed records, in topological order.

Only the structure is read here; what each layer means is `to_onnx`'s business. Every structural fault
(unknown element type, a constant reaching past the end of the BIN, an edge to a missing layer, a cycle)
is one `ConversionError` naming the layer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import ModelFileError


class ConversionError(ModelFileError):
    """The upstream files cannot be turned into the manifest's ONNX model."""


# IR element types -> numpy dtypes (little-endian, as the BIN stores them).
ELEMENT_TYPES: Mapping[str, str] = {
    "f32": "<f4",
    "f16": "<f2",
    "i64": "<i8",
    "i32": "<i4",
    "i8": "i1",
    "u8": "u1",
}


@dataclass(frozen=True, slots=True)
class PortRef:
    """One output port of one layer: the value an edge carries."""

    layer: str
    port: str


@dataclass(frozen=True, slots=True)
class OutputPort:
    """An output port: id, its dims (-1 for dynamic), and the tensor names the IR gives it (v11)."""

    id: str
    dims: tuple[int, ...]
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Layer:
    """One IR layer. `data` holds the XML attributes of its <data> element as written (strings);
    `inputs` the producing port of each input port, in port order."""

    id: str
    name: str
    type: str
    data: Mapping[str, str]
    inputs: tuple[PortRef, ...]
    outputs: tuple[OutputPort, ...]


@dataclass(frozen=True, slots=True)
class IrGraph:
    """A whole IR: its name, IR version and layers in an order where producers precede consumers."""

    name: str
    version: int
    layers: tuple[Layer, ...]


def parse_ir(xml: bytes, label: str) -> IrGraph:
    """The IR graph in `xml`; `label` names the file in errors."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        raise ConversionError(f"{label} is not valid IR XML: {error}") from None
    if root.tag != "net" or root.find("layers") is None or root.find("edges") is None:
        raise ConversionError(f"{label} is not an OpenVINO IR file (no <net> with <layers> and <edges>)")
    version = int(root.get("version", "0"))
    if version not in (10, 11):
        raise ConversionError(f"{label} is IR version {version}; only IR v10 and v11 are read")
    sources: dict[tuple[str, str], PortRef] = {}
    for edge in root.iterfind("edges/edge"):
        key = (edge.get("to-layer", ""), edge.get("to-port", ""))
        sources[key] = PortRef(edge.get("from-layer", ""), edge.get("from-port", ""))
    raw = {el.get("id", ""): el for el in root.iterfind("layers/layer")}
    layers = {lid: _layer(el, sources, raw, label) for lid, el in raw.items()}
    return IrGraph(root.get("name", ""), version, _topological(layers, label))


def _layer(
    el: ET.Element, sources: Mapping[tuple[str, str], PortRef], raw: Mapping[str, ET.Element], label: str
) -> Layer:
    lid, name = el.get("id", ""), el.get("name", "")
    inputs = []
    for port in el.iterfind("input/port"):
        ref = sources.get((lid, port.get("id", "")))
        if ref is None or ref.layer not in raw:
            raise ConversionError(f"{label}: input {port.get('id')} of layer {name!r} is not connected")
        inputs.append(ref)
    outputs = tuple(
        OutputPort(
            port.get("id", ""),
            tuple(int(d.text or "-1") for d in port.iterfind("dim")),
            tuple(n.strip() for n in port.get("names", "").split(",") if n.strip()),
        )
        for port in el.iterfind("output/port")
    )
    data = el.find("data")
    return Layer(
        lid, name, el.get("type", ""), dict(data.attrib) if data is not None else {}, tuple(inputs), outputs
    )


def _topological(layers: Mapping[str, Layer], label: str) -> tuple[Layer, ...]:
    done: dict[str, Layer] = {}
    waiting = dict(layers)
    while waiting:
        ready = [lid for lid, layer in waiting.items() if all(r.layer in done for r in layer.inputs)]
        if not ready:
            raise ConversionError(f"{label}: the graph has a cycle through {sorted(waiting)[:3]}")
        for lid in sorted(ready, key=int):
            done[lid] = waiting.pop(lid)
    return tuple(done.values())


def constant(layer: Layer, weights: bytes, label: str) -> npt.NDArray[np.generic]:
    """The value of a Const layer, read from the BIN at its offset."""
    kind = ELEMENT_TYPES.get(layer.data.get("element_type", ""))
    if kind is None:
        raise ConversionError(
            f"{label}: constant {layer.name!r} has unsupported type {layer.data.get('element_type')!r}"
        )
    shape = ints(layer.data.get("shape", ""))
    offset, size = int(layer.data.get("offset", "-1")), int(layer.data.get("size", "-1"))
    dtype = np.dtype(kind)
    count = int(np.prod(shape, dtype=np.int64))
    if offset < 0 or size != count * dtype.itemsize or offset + size > len(weights):
        raise ConversionError(
            f"{label}: constant {layer.name!r} ({size} bytes at {offset}) does not fit the "
            f"{len(weights)}-byte weights file (truncated or from another release?)"
        )
    return np.frombuffer(weights, dtype, count, offset).reshape(shape)


def ints(text: str) -> tuple[int, ...]:
    """'1, 3, 1, 1' -> (1, 3, 1, 1); '' -> () (a scalar)."""
    return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
