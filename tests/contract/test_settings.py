"""The one settings loader: every mistake in a settings file is one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field, ValidationError

from anonflow.contract.errors import InputError
from anonflow.contract.settings import (
    StrictModel,
    describe,
    expect_mapping,
    load_config,
    read_mapping,
    read_yaml,
    validate_config,
)


class Limits(StrictModel):
    low: int = Field(ge=0)
    high: int = Field(1, le=10)


class Camera(StrictModel):
    name: str
    limits: Limits = Limits(low=0)


@pytest.mark.parametrize(
    ("text", "expected", "error"),
    [
        ("name: door\n", Camera(name="door"), None),
        ("{name: door, limits: {low: 2, high: 3}}", Camera(name="door", limits=Limits(low=2, high=3)), None),
        ("", None, "cam.yaml: name: required key missing"),
        ("nmae: door\n", None, "cam.yaml: nmae: unknown key (and 1 more problem)"),
        ("name: door\ncolour: red\n", None, "cam.yaml: colour: unknown key"),
        ("name: door\nlimits: {low: -1}\n", None, "cam.yaml: limits.low: Input should be greater than or "),
        (
            "name: door\nlimits: {low: 1, high: 11}\n",
            None,
            "limits.high: Input should be less than or equal to 10 (got 11)",
        ),
        ("name: [door\n", None, "cam.yaml: not valid YAML at line 2 column 1: "),
        ("- door\n", None, "cam.yaml: (top level): Input should be a valid dictionary"),
    ],
)
def test_load_config(tmp_path: Path, text: str, expected: Camera | None, error: str | None) -> None:
    path = tmp_path / "cam.yaml"
    path.write_text(text, encoding="utf-8")
    if error is None:
        assert load_config(path, Camera) == expected
        return
    with pytest.raises(InputError) as raised:
        load_config(path, Camera)
    message = str(raised.value)
    assert error in message
    assert message.startswith(str(path)) and "\n" not in message


def test_an_unknown_key_beside_a_missing_one_is_named_as_the_typo() -> None:
    with pytest.raises(ValidationError) as raised:
        Limits.model_validate({"lwo": 1})
    # pydantic lists the missing key first; the operator needs to hear about the typo.
    assert raised.value.errors()[0]["type"] == "missing"
    assert describe(raised.value, "f") == "f: lwo: unknown key (and 1 more problem)"


def test_strict_models_refuse_unknown_keys_and_changes() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Limits(low=1, colour="red")  # type: ignore[call-arg]
    limits = Limits(low=1)
    with pytest.raises(ValidationError, match="frozen"):
        limits.low = 2


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda d: d / "missing.yaml", "gateway config {d}/missing.yaml: cannot read: No such file"),
        (lambda d: d, "gateway config {d}: cannot read: Is a directory"),
        (
            lambda d: _write(d / "latin.yaml", b"name: caf\xe9\n"),
            "gateway config {d}/latin.yaml: not UTF-8 text",
        ),
    ],
)
def test_unreadable_files_name_what_they_are(tmp_path: Path, make: object, error: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InputError, match=None) as raised:
        read_yaml(path, "gateway config")
    assert str(raised.value).startswith(error.format(d=tmp_path))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("text", "expected", "error"),
    [
        ("a: 1\n", {"a": 1}, None),
        ("- a\n", None, "j.yaml: expected a mapping of option to value, got list"),
        ("", None, "j.yaml: expected a mapping of option to value, got NoneType"),
    ],
)
def test_read_mapping(tmp_path: Path, text: str, expected: dict[str, int] | None, error: str | None) -> None:
    path = tmp_path / "j.yaml"
    path.write_text(text, encoding="utf-8")
    if error is None:
        assert read_mapping(path, "job options", holds="option to value") == expected
        return
    with pytest.raises(InputError) as raised:
        read_mapping(path, "job options", holds="option to value")
    assert str(raised.value) == f"{tmp_path}/{error}"


def test_validate_config_names_the_source() -> None:
    assert expect_mapping({"low": 1}, "x") == {"low": 1}
    with pytest.raises(InputError, match=r"^options: low: Input should be a valid integer"):
        validate_config({"low": "many"}, Limits, "options")
