"""An entry id belongs to one track: the store-day's cross-track check over the tracks' packed entry ids.

Gateways deliver at least once, and a repeat carries its original track, where the track summary folds
it away (`TrackAccumulator`). Entry ids are random per gateway process (128 bits), so the same id under
another track is a replayed and edited message or a producer defect; it must not count twice. Checking
that per entry id would key a shuffle by every entry of the day, which the Python runners pay for per key
(six times the whole job on the benchmark day). Instead each track summary carries its ids packed, and
the store-day step, which holds all of a day's tracks anyway, compares them in one sort.

Rule: of the tracks claiming an id, the smallest (camera, track id) keeps it, so the outcome does not
depend on arrival order. A track whose every entry is kept by other tracks is a replay: it is dropped and
its deliveries count as duplicates. A track that shares only some of its entries is kept whole: a summary
cannot be taken apart again, and dropping it would let anyone who replays one id of a real track erase
that track; the shared entries then count twice, as many as one invented entry would add, and the
operators see them in the counter `entries_shared_kept`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anonflow.dataflow.tracks import ENTRY_ID_BYTES, Track


@dataclass(frozen=True, slots=True)
class SharedEntries:
    """The outcome of the check on one store-day.

    tracks: the tracks kept, in (camera, track id) order, their packed ids emptied.
    replays: tracks dropped because other tracks hold all their entries.
    replayed_deliveries: deliveries those dropped tracks had received (they count as duplicates).
    shared_kept: entries counted twice because a kept track shares them with another.
    """

    tracks: tuple[Track, ...]
    replays: int
    replayed_deliveries: int
    shared_kept: int


def _stripped(tracks: Sequence[Track]) -> tuple[Track, ...]:
    return tuple(dataclasses.replace(t, entry_ids=b"") if t.entry_ids else t for t in tracks)


def keep_each_entry_once(tracks: Sequence[Track]) -> SharedEntries:
    """One store-day's tracks (one summary per track) -> the tracks to count; see the module's rule."""
    ordered = sorted(tracks, key=lambda t: t.fragment.key)
    counts = np.fromiter((len(t.entry_ids) // ENTRY_ID_BYTES for t in ordered), np.int64, len(ordered))
    # Fixed-width byte strings: equal as numpy strings exactly when their 16 bytes are equal.
    ids = np.frombuffer(b"".join(t.entry_ids for t in ordered), dtype=f"S{ENTRY_ID_BYTES}")
    if len(ids) == 0:
        return SharedEntries(_stripped(ordered), 0, 0, 0)
    # A stable sort keeps equal ids in track order, so each id's first copy is its keeping track's.
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    repeat = np.zeros(len(ids), dtype=bool)
    repeat[order[1:]] = sorted_ids[1:] == sorted_ids[:-1]
    if not repeat.any():
        return SharedEntries(_stripped(ordered), 0, 0, 0)
    owner = np.repeat(np.arange(len(ordered)), counts)
    lost = np.bincount(owner[repeat], minlength=len(ordered))
    replayed = (lost == counts) & (counts > 0)
    kept = [t for t, gone in zip(ordered, replayed, strict=True) if not gone]
    return SharedEntries(
        tracks=_stripped(kept),
        replays=int(replayed.sum()),
        replayed_deliveries=sum(t.received for t, gone in zip(ordered, replayed, strict=True) if gone),
        shared_kept=int(lost[~replayed].sum()),
    )
