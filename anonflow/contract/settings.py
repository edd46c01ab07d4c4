"""Settings: the strict base every settings model extends, and the one way a settings file is loaded.

Every configuration file (gateway, camera chain, stores, environment, recipe, job options) is read by
`read_yaml` / `read_mapping` / `parse_yaml` and validated by `validate_config`, so each mistake is one
line naming the file and the field, worded the same way whichever part of the product reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from anonflow.contract.errors import InputError


class StrictModel(BaseModel):
    """A settings (or contract) model: unknown keys are refused, so a typo is an error naming the key
    rather than a silent default; instances are frozen, so settings cannot change once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def _known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {value!r}") from error
    return value


# A setting naming an IANA time zone (e.g. Europe/Berlin), checked against the installed tz database.
TimeZoneName = Annotated[str, AfterValidator(_known_time_zone)]


@dataclass(frozen=True, slots=True)
class Problem:
    """The problem of a validation error worth reporting first.

    path: the field's dotted location ("" for the whole document); kind: pydantic's error type
    (e.g. "missing", "extra_forbidden"); text: pydantic's message; value: the rejected input;
    others: how many more problems the error holds.
    """

    path: str
    kind: str
    text: str
    value: object
    others: int

    @property
    def where(self) -> str:
        """The dotted path, or "(top level)" for the whole document."""
        return self.path or "(top level)"

    @property
    def message(self) -> str:
        """The problem in words an operator reads: the rejected value is shown unless it is a container."""
        if self.kind == "extra_forbidden":
            return "unknown key"
        if self.kind == "missing":
            return "required key missing"
        message = self.text.removeprefix("Value error, ")
        value = self.value
        repeated = isinstance(value, str) and value in message
        if not isinstance(value, dict | list) and value is not None and not repeated:
            message = f"{message} (got {value!r})"
        return message

    @property
    def more(self) -> str:
        """ " (and N more problems)", or "" when there is only this one."""
        if not self.others:
            return ""
        return f" (and {self.others} more problem{'s' if self.others > 1 else ''})"


def first_problem(error: ValidationError) -> Problem:
    """The problem to report first: an unknown key beside a missing one is usually the typo of it, so
    the unknown key is named first; otherwise pydantic's first problem."""
    problems = error.errors(include_url=False)
    missing_in = {tuple(p["loc"][:-1]) for p in problems if p["type"] == "missing"}
    typos = [p for p in problems if p["type"] == "extra_forbidden" and tuple(p["loc"][:-1]) in missing_in]
    first = typos[0] if typos else problems[0]
    return Problem(
        path=".".join(str(part) for part in first["loc"]),
        kind=first["type"],
        text=first["msg"],
        value=first.get("input"),
        others=len(problems) - 1,
    )


def describe(error: ValidationError, source: str) -> str:
    """The first problem of a validation error as one line: `source: field.path: message (got value)`."""
    problem = first_problem(error)
    return f"{source}: {problem.where}: {problem.message}{problem.more}"


def parse_yaml(text: str, source: str) -> object:
    """The parsed content of YAML (or JSON) text; InputError naming `source`, the line and the column."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "unreadable"
        raise InputError(f"{source}: not valid YAML{at}: {problem}") from None


def read_yaml(path: str | Path, what: str = "config") -> object:
    """The parsed content of a YAML (or JSON) file; InputError naming the file, line and column otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} {path}: not UTF-8 text") from None
    except OSError as error:
        raise InputError(f"{what} {path}: cannot read: {error.strerror or error}") from None
    return parse_yaml(text, str(path))


def expect_mapping(data: object, source: str, what: str = "settings") -> dict[str, Any]:
    """`data` if it is a mapping (a settings document's top level); InputError naming its type otherwise."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of {what}, got {type(data).__name__}")
    return data


def read_mapping(path: str | Path, what: str = "config", holds: str = "settings") -> dict[str, Any]:
    """A YAML (or JSON) file whose top level must be a mapping of `holds` (see `read_yaml`)."""
    return expect_mapping(read_yaml(path, what), str(path), holds)


def load_config(path: str | Path, model: type[Model], what: str = "config") -> Model:
    """Parse a YAML (or JSON) file into `model`, raising InputError with the bad field's path.

    An empty file is an empty mapping, so the message names the first required key.
    """
    data = read_yaml(path, what)
    return validate_config(data if data is not None else {}, model, str(path))


def validate_config(data: object, model: type[Model], source: str) -> Model:
    """`data` validated as `model`; InputError(`describe(...)`) naming `source` and the field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InputError(describe(error, source)) from None
