"""How a source declares its marts: business tables built in SQL from its staging tables.

Declared as data in the vendor's folder (no Dagster); `marts/factory.py` turns each into a daily
partitioned asset with its checks. A mart names the streams it reads and the warehouse it runs
in: loading fails when one of those streams is configured to another warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from plumbing_dagster.tables import CURRENT_SUFFIX, days_filter, mart_schema, qualified, staging_schema


@dataclass(frozen=True)
class MartQuery:
    """What a mart's SQL may refer to, spelled for the warehouse: its source's tables and the run's days."""

    source: str
    days: Sequence[date]

    def stream(self, name: str) -> str:
        """The staging table of a stream (one row per key per day, or every landed row)."""
        return qualified(staging_schema(self.source), name)

    def current(self, name: str) -> str:
        """The stream's `__current` view (the current version of every key)."""
        return qualified(staging_schema(self.source), name + CURRENT_SUFFIX)

    def mart(self, name: str) -> str:
        return qualified(mart_schema(self.source), name)

    def in_window(self, table_alias: str | None = None) -> str:
        """A `WHERE` body selecting the run's days of the partition column."""
        return days_filter(self.days, table_alias)


@dataclass(frozen=True)
class MartCheck:
    """A check on a mart: `sql` returns one row of integer counts, `passed` judges them."""

    name: str
    description: str
    sql: Callable[[MartQuery], str]
    passed: Callable[[Mapping[str, int]], bool]
    blocking: bool = True


@dataclass(frozen=True)
class Mart:
    """A daily partitioned business table; `sql` selects the run's days (with `partition_date`)."""

    name: str
    reads: tuple[str, ...]  # streams of this source; their staging assets are its upstreams
    warehouse: str
    sql: Callable[[MartQuery], str]
    description: str
    checks: tuple[MartCheck, ...] = ()
    owners: tuple[str, ...] = ("team:analytics",)
    # (column, stream): each row belongs to the day of the current version of the `stream` key its
    # `column` names (Jira: an issue's rows are in the day its newest version was landed). Writing
    # days removes, from the other days, the rows of keys whose current version is in them.
    one_day_per: tuple[str, str] | None = None
