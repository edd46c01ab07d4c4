"""Demographics: distinct journeys per zone, window, gender and age group. Each journey has one label (the
majority over its observations, see `Journey`), so per zone and window the rows add up to footfall's
visitors."""

from __future__ import annotations

from collections import defaultdict

from anonflow.contract.tables import DEMOGRAPHICS
from anonflow.dataflow.aggregate.base import (
    ALL_GRANULARITIES,
    AggregateTable,
    Row,
    behind,
    day_windows,
    presence,
    window_columns,
)
from anonflow.dataflow.journeys import StoreDay


def demographics_rows(day: StoreDay) -> list[Row]:
    rows: list[Row] = []
    for granularity in ALL_GRANULARITIES:
        for (zone, window), journeys in sorted(presence(day, day_windows(day, granularity)).items()):
            labels: dict[tuple[str, str], set[int]] = defaultdict(set)
            for i in journeys:
                labels[(day.journeys[i].gender, day.journeys[i].age_group)].add(i)
            for (gender, age_group), members in sorted(labels.items()):
                rows.append(
                    behind(
                        DEMOGRAPHICS.row(
                            {
                                "zone_id": zone,
                                **window_columns(granularity, window),
                                "gender": gender,
                                "age_group": age_group,
                                "visitors": len(members),
                            }
                        ),
                        members,
                    )
                )
    return rows


class Demographics(AggregateTable):
    """StoreDays -> demographics rows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(DEMOGRAPHICS, demographics_rows)
