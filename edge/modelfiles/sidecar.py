"""Reading the JSON record kept next to a model file that was made or converted on this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from anonflow.contract.errors import ModelFileError

Record = TypeVar("Record")


def sidecar_path(model_file: Path) -> Path:
    """`<file>.json` beside the model file."""
    return model_file.with_name(model_file.name + ".json")


def read_record(model_file: Path, *, kind: str, record_format: str, record: type[Record]) -> Record:
    """The sidecar of `model_file` as `record`; ModelFileError naming what is wrong otherwise.

    kind names the model in the error ("derived", "converted"); record_format is the `format` field the
    sidecar must carry.
    """
    path = sidecar_path(model_file)
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{kind} model {model_file} has no sidecar {path.name}") from None
    except (OSError, ValueError) as error:
        raise ModelFileError(f"sidecar {path} is unreadable: {error}") from None
    if not isinstance(raw, dict) or raw.get("format") != record_format:
        raise ModelFileError(f"sidecar {path} is not an {record_format} record")
    try:
        return record(**raw)
    except TypeError as error:
        raise ModelFileError(f"sidecar {path} has unexpected fields: {error}") from None
