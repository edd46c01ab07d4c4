"""Loading YAML/JSON configuration into typed models, with one-line errors that name the bad field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from anonflow.errors import InputError

Model = TypeVar("Model", bound=BaseModel)


def describe(error: ValidationError, source: str) -> str:
    """`source: field.path: message` for the first problem, plus how many more there are."""
    # An unknown key is usually a typo that also explains a "field required" next to it: name it first.
    problems = sorted(error.errors(), key=lambda p: p["type"] != "extra_forbidden")
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (typo?)"
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{source}: {where}: {message}{more}"


def load_config(path: str | Path, model: type[Model]) -> Model:
    """Parse a YAML (or JSON) file into `model`, raising InputError with the bad field's path."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config {path} does not exist or is not a file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
    return validate_config(data if data is not None else {}, model, str(path))


def validate_config(data: object, model: type[Model], source: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(describe(error, source)) from None
