"""The value staging assets hand to a warehouse IO manager, and the definition metadata it reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from plumbing_dagster.tables import PARTITION_COLUMN, REJECT_REASON_COLUMN, REJECT_RECORD_COLUMN

# Definition metadata keys the IO managers read.
META_PRIMARY_KEY = "plumbing/primary_key"  # list[str]
META_CURSOR = "plumbing/cursor"  # str | None: newest version per key wins in <table>__current
# "latest_per_key" (incremental streams) or "latest_partition" (snapshots): how <table>__current is built.
META_CURRENT_VIEW = "plumbing/current_view"


@dataclass(frozen=True)
class StagedTable:
    """Rows typed by the contract plus the records put aside, both carrying `partition_date`.

    The IO manager writes `rows` to `<schema>.<table>`, `rejected` to `<schema>.<table>__rejected`
    and `keys` to `<schema>.<table>__keys`, replacing the partition's rows of each in one transaction.
    """

    rows: pa.Table
    rejected: pa.Table
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Key snapshots of the days (key columns + partition_date), for delete detection; None: none.
    keys: pa.Table | None = None


def rejected_schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field(PARTITION_COLUMN, pa.date32()),
            pa.field(REJECT_REASON_COLUMN, pa.string()),
            pa.field(REJECT_RECORD_COLUMN, pa.string()),
        ]
    )


def empty_rejected() -> pa.Table:
    return rejected_schema().empty_table()


def key_columns(metadata: Mapping[str, Any]) -> Sequence[str]:
    value = metadata.get(META_PRIMARY_KEY)
    return list(value) if value else []
