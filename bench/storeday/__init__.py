"""A synthetic store-day with known journeys: NDJSON entry files, the store configuration, and the truth.

The store (one, Europe/Berlin by default) has four cameras: `entrance`, `aisle-a`, `aisle-b` and
`checkout`. Each view has three zones: `<camera>-front` (foot point y >= 0.65), `<camera>-left` and
`<camera>-right` (the back half, split at x = 0.5). Visitors arrive through the door (a counting line on
the entrance camera), walk a random route over the camera graph and leave through the door again.

What makes it realistic for the Beam job:
- arrivals follow a daily profile (lunch and after-work peaks) over the store's opening hours, local time;
- every camera visit is one track, broken into fragments by occlusions (new track id after each): most
  gaps last 0.6-3 s, one in ten 5-12 s (longer than the store's occlusion rule allows, so not joinable);
- walks between cameras take a transit time inside the configured link range, except for about 5 %
  who linger out of view for minutes (these cannot and should not be joined);
- the appearance group flickers on ~3 % of entries and differs under one camera's lighting on ~5 % of
  visits (both cost re-connection recall, as they would in a real store);
- about 1 % of entries are delivered twice (same entry id), and a few hundred lines are bad (cut off,
  not JSON, a face key point, a missing field, out-of-range values).

Everything is drawn from one seeded numpy Generator, so the same seed writes the same files. The arrays are
built with numpy and written as fixed-width byte matrices, so a million entries take seconds.

Parts: layout.py (cameras, zones, links, the contract's vocabularies), generate.py (the drawing steps),
render.py (NDJSON byte matrices), truth.py (the truth as fragments), write.py (files).

    python -m bench.storeday --out /tmp/storeday --seed 1         # ~1 M entries
    python -m bench.storeday --out /tmp/small --visitors 200      # a small day for a quick look

Output: OUT/entries/YYYY/MM/DD/HH/<store>-<camera>.ndjson (UTC hour of the event, as Firehose nests
them), OUT/stores.yaml (the store configuration the job needs), OUT/truth.json (which person each track
belongs to, counts of duplicates and bad lines).
"""

from bench.storeday.day import StoreDay, StoreDayConfig
from bench.storeday.generate import generate
from bench.storeday.layout import CAMERAS, store_config, zone_names
from bench.storeday.truth import fragments_of
from bench.storeday.write import write

__all__ = [
    "CAMERAS",
    "StoreDay",
    "StoreDayConfig",
    "fragments_of",
    "generate",
    "store_config",
    "write",
    "zone_names",
]
