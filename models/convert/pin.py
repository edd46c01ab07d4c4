"""Print the `[[model.conversion.reference]]` pins of a reference ONNX file, for a manifest row.

When a new upstream release is adopted, run this on the reference ONNX file the row's sha256 names:
`python -m anonflow.models.convert.pin pose/human-pose-estimation-0001.onnx 1,3,256,456`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from anonflow.edge.modelfiles.spec import ReferenceOutput
from anonflow.models.convert.probe import fingerprint, probe_input


def reference_outputs(model: Path, shape: tuple[int, ...]) -> list[ReferenceOutput]:
    """The fingerprint of every output of `model` on the fixed probe input of `shape`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {session.get_inputs()[0].name: probe_input(shape)})
    return [fingerprint(name, value) for name, value in zip(names, values, strict=True)]


def as_toml(pins: list[ReferenceOutput]) -> str:
    blocks = []
    for pin in pins:
        samples = ", ".join(f"{v:.9g}" for v in pin.samples)
        blocks.append(
            f'[[model.conversion.reference]]\noutput = "{pin.output}"\nshape = {list(pin.shape)}\n'
            f"mean = {pin.mean!r}\nstd = {pin.std!r}\nsamples = [{samples}]\n"
        )
    return "\n".join(blocks)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m anonflow.models.convert.pin MODEL.onnx N,C,H,W", file=sys.stderr)
        return 2
    shape = tuple(int(d) for d in argv[1].split(","))
    print(as_toml(reference_outputs(Path(argv[0]), shape)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
