"""A synthetic store-day with known people: NDJSON entry files, the store configuration, and the truth.

The store (one, Europe/Berlin by default) has four cameras: `entrance`, `aisle-a`, `aisle-b` and
`checkout`. Each view has three zones: `<camera>-front` (foot point y >= 0.65), `<camera>-left` and
`<camera>-right` (the back half, split at x = 0.5). People arrive through the door (a counting line on
the entrance camera, named as the store's door in stores.yaml), walk a route over the camera graph and
leave through the door again.

The truth is independent of the job's rules: walks, occlusion gaps, light changes and lingering come
from distributions of their own (walks.py lists them), never from the store file's occlusion rule or
link transit ranges, so a recall or people figure against it measures the job, not its agreement with
itself. The day includes parties walking together and staff with shift-long stays. On top, about 1 %
of entries are delivered twice (same entry id), and a few hundred lines are bad (cut off, not JSON, a
face key point, a missing field, out-of-range values).

Everything is drawn from one seeded numpy Generator, so the same seed writes the same files. The arrays are
built with numpy and written as fixed-width byte matrices, so a million entries take seconds.

Parts: layout.py (cameras, zones, links, the contract's vocabularies), walks.py (who comes and how they
walk: the documented distributions), generate.py (the drawing steps),
render.py (NDJSON byte matrices), truth.py (the truth as fragments), write.py (files).

    python -m bench.storeday --out /tmp/storeday --seed 1         # ~1 M entries
    python -m bench.storeday --out /tmp/small --visitors 200      # a small day for a quick look

Output: OUT/entries/YYYY/MM/DD/HH/<store>-<camera>.ndjson (UTC hour of the event, as Firehose nests
them), OUT/stores.yaml (the store configuration the job needs), OUT/truth.json (which person each track
belongs to; counts of people, staff, parties, duplicates and bad lines).
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
