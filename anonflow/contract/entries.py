"""Every entry version the cloud still reads: v2 (minimal or research) from gateways, v1 from archives.

The version and profile fields pick the model, so an error names what is wrong with that version
rather than listing every version's complaints.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Discriminator, Tag, TypeAdapter

from anonflow.contract.entry import Entry, ResearchEntry
from anonflow.contract.entry_v1 import EntryV1


def _tag(value: object) -> str | None:
    if isinstance(value, dict):
        version, profile = value.get("schema_version"), value.get("profile", "minimal")
    elif isinstance(value, Entry | EntryV1):
        version, profile = value.schema_version, getattr(value, "profile", "minimal")
    else:
        return "2"  # not an object at all: let the current version say so
    if version == 1:
        return "1"
    if version == 2:
        return "2-research" if profile == "research" else "2"
    return None


AnyEntry = Annotated[
    Annotated[Entry, Tag("2")] | Annotated[ResearchEntry, Tag("2-research")] | Annotated[EntryV1, Tag("1")],
    Discriminator(
        _tag,
        custom_error_type="unknown_version",
        custom_error_message="schema_version must be 2 (profile minimal or research) or 1 (archived)",
    ),
]
# The tags above; a validation error's location starts with one of them.
VERSION_TAGS: Final = frozenset({"1", "2", "2-research"})

_READER: Final[TypeAdapter[Entry | EntryV1]] = TypeAdapter(AnyEntry)


def read_entry_json(text: str | bytes) -> Entry | EntryV1:
    """One entry of any readable version from its JSON text; raises pydantic's ValidationError."""
    return _READER.validate_json(text)


def read_entry(document: object) -> Entry | EntryV1:
    """One entry of any readable version from a decoded JSON document."""
    return _READER.validate_python(document)
