"""The IR reader and converter on malformed input: one ConversionError line naming what is wrong."""

from __future__ import annotations

import pytest

from anonflow.models.convert.ir import ConversionError, parse_ir
from anonflow.models.convert.to_onnx import Naming, convert

_PARAM = (
    '<layer id="0" name="x" type="Parameter" version="opset1"><data shape="1,3,4,4" element_type="f32"/>'
    '<output><port id="0" precision="FP32"><dim>1</dim><dim>3</dim><dim>4</dim><dim>4</dim></port></output>'
    "</layer>"
)
_RESULT = '<layer id="9" name="out" type="Result" version="opset1"><input><port id="0"/></input></layer>'


def _net(layers: str, edges: str, version: int = 11) -> bytes:
    return f'<net name="t" version="{version}"><layers>{layers}</layers><edges>{edges}</edges></net>'.encode()


def _const(size: int) -> str:
    return (
        '<layer id="1" name="w" type="Const" version="opset1">'
        f'<data element_type="f32" shape="1,3,1,1" offset="0" size="{size}"/>'
        '<output><port id="0" precision="FP32"/></output></layer>'
    )


_ADD = (
    '<layer id="2" name="sum" type="Add" version="opset1"><input><port id="0"/><port id="1"/></input>'
    '<output><port id="2" precision="FP32"><dim>1</dim><dim>3</dim><dim>4</dim><dim>4</dim></port></output>'
    "</layer>"
)
_ADD_EDGES = (
    '<edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>'
    '<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>'
    '<edge from-layer="2" from-port="2" to-layer="9" to-port="0"/>'
)


@pytest.mark.parametrize(
    ("xml", "weights", "error"),
    [
        (b"not xml at all", b"", "is not valid IR XML"),
        (b"<model/>", b"", "is not an OpenVINO IR file"),
        (_net("", "", version=7), b"", "IR version 7"),
        (_net(_PARAM + _RESULT, ""), b"", "input 0 of layer 'out' is not connected"),
        (
            _net(_PARAM + _const(12) + _ADD + _RESULT, _ADD_EDGES),
            b"\0" * 8,
            "does not fit the 8-byte weights",
        ),
        (
            _net(
                _PARAM + _RESULT.replace("Result", "Softmax"),
                '<edge from-layer="0" from-port="0" to-layer="9" to-port="0"/>',
            ),
            b"",
            "type Softmax, which the converter does not support",
        ),
    ],
)
def test_bad_ir_is_one_line(xml: bytes, weights: bytes, error: str) -> None:
    with pytest.raises(ConversionError, match=error) as raised:
        convert(parse_ir(xml, "t.xml"), weights, "t.xml", Naming())
    assert "\n" not in str(raised.value)


def test_a_small_graph_converts_and_runs() -> None:
    import numpy as np
    import onnxruntime as ort

    weights = np.array([1.0, 2.0, 3.0], np.float32).tobytes()
    model = convert(
        parse_ir(_net(_PARAM + _const(12) + _ADD + _RESULT, _ADD_EDGES), "t.xml"),
        weights,
        "t.xml",
        Naming("image", {2: "height"}),
    ).model
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.zeros((1, 3, 6, 4), np.float32)  # height is dynamic

    (y,) = session.run(None, {"image": x})

    assert y.shape == (1, 3, 6, 4) and y[0, :, 0, 0].tolist() == [1.0, 2.0, 3.0]
