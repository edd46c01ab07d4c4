"""How good a re-connection is, against labelled data (which person each fragment really belongs to).

- A *true link* is a pair of fragments of the same person that follow each other in time; it is an
  occlusion link if both are in the same camera, else a transit link.
- A true link is *recovered* if both fragments ended up in the same journey (recall = recovered / true).
- A *join* the algorithm made is *correct* if both fragments belong to the same person
  (precision = correct / joins). A wrong join merges two people and undercounts visitors.
- A person is reconstructed *exactly* if one journey holds all of that person's fragments and nothing else.
- Given the store configuration, every missed true link is explained by the first rule it breaks
  ("gap too long", "different appearance group", ...), or "admissible" if the rule allowed it and the
  greedy matching chose another partner.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from anonflow.dataflow.reconnect.fragments import Fragment, FragmentKey
from anonflow.dataflow.reconnect.link import Reconnection, occlusion_verdict, transit_verdict
from anonflow.dataflow.stores import StoreConfig


@dataclass(frozen=True, slots=True)
class LinkQuality:
    """Precision and recall of one kind of join."""

    joins: int
    correct: int
    true_links: int
    recovered: int

    @property
    def precision(self) -> float:
        return self.correct / self.joins if self.joins else 1.0

    @property
    def recall(self) -> float:
        return self.recovered / self.true_links if self.true_links else 1.0


@dataclass(frozen=True, slots=True)
class Quality:
    occlusion: LinkQuality
    transit: LinkQuality
    persons: int
    journeys: int
    exact: int
    missed: Mapping[str, int] = field(default_factory=dict)

    @property
    def overall(self) -> LinkQuality:
        o, t = self.occlusion, self.transit
        return LinkQuality(
            o.joins + t.joins, o.correct + t.correct, o.true_links + t.true_links, o.recovered + t.recovered
        )

    def summary(self) -> str:
        lines = []
        for name, q in (
            ("occlusion", self.occlusion),
            ("transit", self.transit),
            ("all joins", self.overall),
        ):
            lines.append(
                f"{name:>10}: precision {q.precision:.4f} ({q.correct}/{q.joins})  "
                f"recall {q.recall:.4f} ({q.recovered}/{q.true_links})"
            )
        lines.append(
            f"   persons: {self.persons}  journeys: {self.journeys}  "
            f"exactly reconstructed: {self.exact} ({self.exact / max(self.persons, 1):.1%})"
        )
        if self.missed:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.missed.items()))
            lines.append(f"    missed: {reasons}")
        return "\n".join(lines)


def evaluate(
    result: Reconnection,
    fragments: Iterable[Fragment],
    person_of: Mapping[FragmentKey, str | int],
    store: StoreConfig | None = None,
) -> Quality:
    """Score `result` against the true person of every fragment (and explain misses, given the store)."""
    frags = sorted(fragments, key=lambda f: (f.start_ms, f.key))
    by_person: dict[str | int, list[Fragment]] = defaultdict(list)
    for f in frags:
        by_person[person_of[f.key]].append(f)

    true_links = {"occlusion": 0, "transit": 0}
    recovered = {"occlusion": 0, "transit": 0}
    missed: Counter[str] = Counter()
    for chain in by_person.values():
        for a, b in itertools.pairwise(chain):
            kind = "occlusion" if a.camera_id == b.camera_id else "transit"
            true_links[kind] += 1
            if result.journey_of[a.key] == result.journey_of[b.key]:
                recovered[kind] += 1
            elif store is not None:
                missed[f"{kind}: {_why_not(a, b, store)}"] += 1

    joins = {"occlusion": 0, "transit": 0}
    correct = {"occlusion": 0, "transit": 0}
    for join in result.joins:
        joins[join.kind] += 1
        if person_of[join.earlier] == person_of[join.later]:
            correct[join.kind] += 1

    members: dict[str, set[FragmentKey]] = defaultdict(set)
    for key, journey in result.journey_of.items():
        members[journey].add(key)
    exact_sets = {frozenset(m) for m in members.values()}
    exact = sum(1 for chain in by_person.values() if frozenset(f.key for f in chain) in exact_sets)

    def quality(kind: str) -> LinkQuality:
        return LinkQuality(joins[kind], correct[kind], true_links[kind], recovered[kind])

    return Quality(
        quality("occlusion"), quality("transit"), len(by_person), len(members), exact, dict(missed)
    )


def _why_not(a: Fragment, b: Fragment, store: StoreConfig) -> str:
    if a.camera_id == b.camera_id:
        verdict = occlusion_verdict(a, b, store.occlusion, store.require_same_group)
    else:
        verdict = transit_verdict(a, b, store.directed_links(), store.require_same_group)
    return "admissible" if verdict.joinable else verdict.reason
