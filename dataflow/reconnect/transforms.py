"""Re-connection as Beam steps: observations -> fragments -> journeys -> (journey_id, observation).

All three steps work within the input's windows: in a batch run over the global window a store's whole
input is linked at once; in a streaming run, window by store-local day first (`StoreLocalWindows("1d")`)
so journeys are linked when the day closes. Shorter windows give earlier results but cut journeys that
straddle a window boundary into two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from dataflow.observation import Observation
from dataflow.reconnect.fragments import Fragment, FragmentAccumulator, FragmentKey
from dataflow.reconnect.link import new_journey_id, reconnect
from dataflow.stores import StoreConfig, StoresConfig


class _Summarise(beam.CombineFn):
    """Observations of one track -> its Fragment."""

    def create_accumulator(self) -> FragmentAccumulator:
        return FragmentAccumulator()

    def add_input(self, acc: FragmentAccumulator, o: Observation) -> FragmentAccumulator:
        return acc.add(o)

    def merge_accumulators(self, accumulators: Iterable[FragmentAccumulator]) -> FragmentAccumulator:
        merged = FragmentAccumulator()
        for acc in accumulators:
            merged.merge(acc)
        return merged

    def extract_output(self, acc: FragmentAccumulator) -> Fragment:
        return acc.fragment()


def _by_fragment(o: Observation) -> tuple[FragmentKey, Observation]:
    return (o.fragment_key, o)


class SummariseFragments(beam.PTransform):
    """Observations -> one `Fragment` per (store, camera, track)."""

    def expand(self, observations: beam.PCollection) -> beam.PCollection:
        return (
            observations
            | "ByTrack" >> beam.Map(_by_fragment)
            | "Summarise" >> beam.CombinePerKey(_Summarise())
            | "Fragments" >> beam.Values()
        )


class _LinkStore(beam.DoFn):
    def __init__(self, stores: StoresConfig) -> None:
        self._stores = stores
        self._by_id: dict[str, StoreConfig] = {}
        self.fragments = Metrics.counter("anonflow", "reconnect_fragments")
        self.journeys = Metrics.counter("anonflow", "reconnect_journeys")
        self.occlusion_joins = Metrics.counter("anonflow", "reconnect_joins_occlusion")
        self.transit_joins = Metrics.counter("anonflow", "reconnect_joins_transit")
        self.unknown = Metrics.counter("anonflow", "reconnect_fragments_unknown_store")

    def setup(self) -> None:
        self._by_id = self._stores.by_id()

    def process(self, element: tuple[str, Iterable[Fragment]]) -> Iterator[tuple[FragmentKey, str]]:
        store_id, fragments = element
        frags = list(fragments)
        self.fragments.inc(len(frags))
        store = self._by_id.get(store_id)
        if store is None:
            # Validation routes unknown stores to the dead-letter output; if one slips through, its
            # tracks still count, each as its own journey, and the counter says so.
            self.unknown.inc(len(frags))
            for f in frags:
                yield (f.key, new_journey_id())
            return
        result = reconnect(frags, store)
        self.journeys.inc(len(set(result.journey_of.values())))
        for join in result.joins:
            (self.occlusion_joins if join.kind == "occlusion" else self.transit_joins).inc()
        yield from result.journey_of.items()


class LinkJourneys(beam.PTransform):
    """Fragments -> (fragment key, journey id) for every fragment, linked per store and window."""

    def __init__(self, stores: StoresConfig) -> None:
        super().__init__()
        self._stores = stores

    def expand(self, fragments: beam.PCollection) -> beam.PCollection:
        return (
            fragments
            | "ByStore" >> beam.Map(lambda f: (f.store_id, f))
            | "Group" >> beam.GroupByKey()
            | "Link" >> beam.ParDo(_LinkStore(self._stores))
        )


class _Attach(beam.DoFn):
    def __init__(self) -> None:
        self.unlinked = Metrics.counter("anonflow", "reconnect_observations_unlinked")

    def process(self, element: tuple[FragmentKey, dict[str, Any]]) -> Iterator[tuple[str, Observation]]:
        _, grouped = element
        journeys = list(grouped["journey"])
        observations = grouped["observations"]
        if len(journeys) != 1:
            # Every fragment gets exactly one journey; anything else is a wiring error worth seeing.
            raise ValueError(f"fragment {element[0]} has {len(journeys)} journey ids, expected 1")
        for o in observations:
            yield (journeys[0], o)


class AttachJourneys(beam.PTransform):
    """(observations, fragment->journey pairs) -> (journey_id, observation) pairs."""

    def expand(self, inputs: tuple[beam.PCollection, beam.PCollection]) -> beam.PCollection:
        observations, journey_of = inputs
        keyed = observations | "ByTrack" >> beam.Map(_by_fragment)
        return (
            {"observations": keyed, "journey": journey_of}
            | "Join" >> beam.CoGroupByKey()
            | "Attach" >> beam.ParDo(_Attach())
        )


class Reconnect(beam.PTransform):
    """Observations -> (journey_id, observation): fragments summarised, linked per store, attached back."""

    def __init__(self, stores: StoresConfig) -> None:
        super().__init__()
        self._stores = stores

    def expand(self, observations: beam.PCollection) -> beam.PCollection:
        fragments = observations | "Fragments" >> SummariseFragments()
        journey_of = fragments | "Journeys" >> LinkJourneys(self._stores)
        return (observations, journey_of) | "Attach" >> AttachJourneys()
