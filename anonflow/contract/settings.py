"""Loading YAML/JSON configuration into typed models, with one-line errors that name the bad field."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from anonflow.contract.errors import InputError

Model = TypeVar("Model", bound=BaseModel)


def describe(error: ValidationError, source: str) -> str:
    """The first problem of a validation error as one line: `source: field.path: message (got value)`."""
    problems = error.errors(include_url=False)
    # An unknown key beside a missing one is usually the typo of it: name the typo first.
    missing_in = {tuple(p["loc"][:-1]) for p in problems if p["type"] == "missing"}
    typos = [p for p in problems if p["type"] == "extra_forbidden" and tuple(p["loc"][:-1]) in missing_in]
    first = typos[0] if typos else problems[0]
    path = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key missing"
    else:
        message = first["msg"].removeprefix("Value error, ")
        value = first.get("input")
        repeated = isinstance(value, str) and value in message
        if not isinstance(value, dict | list) and value is not None and not repeated:
            message = f"{message} (got {value!r})"
    more = (
        f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        if len(problems) > 1
        else ""
    )
    return f"{source}: {path}: {message}{more}"


def read_yaml(path: str | Path, what: str = "config") -> object:
    """The parsed content of a YAML (or JSON) file; InputError naming the file, line and column otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {what} {path}: {error.strerror or error}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise InputError(f"{path}:{at}: {problem}") from None


def load_config(path: str | Path, model: type[Model]) -> Model:
    """Parse a YAML (or JSON) file into `model`, raising InputError with the bad field's path."""
    data = read_yaml(path)
    return validate_config(data if data is not None else {}, model, str(path))


def validate_config(data: object, model: type[Model], source: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(describe(error, source)) from None
