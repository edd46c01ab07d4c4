"""`People`: which estimated person each journey of a store-day belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Method = Literal["doors", "journeys"]


@dataclass(frozen=True, slots=True)
class People:
    """Journeys of one store-day grouped into estimated people.

    person_of: the person index (0 .. count - 1) of each journey, in the store-day's journey order.
    anchored: per person, whether its first journey came in through a door line. False marks a chain of
      fragments for which no unfinished journey could be found: it is counted as a person, and it is the
      estimate's uncertainty (the true count lies between count - unanchored and count, as far as the
      door lines are right).
    method: "doors" (stitched at the store's door lines) or "journeys" (no door lines: one person per
      journey, nothing anchored).
    """

    person_of: tuple[int, ...]
    anchored: tuple[bool, ...]
    method: Method

    def __post_init__(self) -> None:
        if sorted(set(self.person_of)) != list(range(len(self.anchored))):
            raise ValueError(
                f"person_of must use every person index 0..{len(self.anchored) - 1} and no other, "
                f"got {sorted(set(self.person_of))[:5]}..."
            )

    @classmethod
    def one_per_journey(cls, journeys: int) -> People:
        return cls(tuple(range(journeys)), (False,) * journeys, "journeys")

    @classmethod
    def from_chains(cls, journeys: int, chains: Sequence[Sequence[int]], anchored: Sequence[bool]) -> People:
        """People from chains of journey indices (every journey in exactly one chain)."""
        person_of = [-1] * journeys
        for person, chain in enumerate(chains):
            for journey in chain:
                person_of[journey] = person
        if -1 in person_of:
            raise ValueError(f"journey {person_of.index(-1)} is in no chain")
        return cls(tuple(person_of), tuple(anchored), "doors")

    @property
    def count(self) -> int:
        return len(self.anchored)

    @property
    def unanchored(self) -> int:
        return self.count - sum(self.anchored) if self.method == "doors" else 0
