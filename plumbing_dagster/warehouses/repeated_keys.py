"""Which landed rows may share their day and key with another row, found in fixed memory.

Ranking versions needs only the keys landed more than once on a day, on a usual day a small
share of the rows. Two streaming passes over the key columns find a superset of those rows in
two bitmaps of 2**SLOT_BITS bits (8 MiB each) whatever the day's size: the first pass marks the
slot of each (day, key) as seen, and as repeated when it was seen before; the second keeps the
rows whose slot is marked repeated. Every row of a repeated key is kept. A row of a key landed
once is kept too when another key shares its slot (a share of about rows / 2**SLOT_BITS of them:
1.5% for a million rows); ranking finds no second version of it and leaves it alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from plumbing_dagster.tables import PARTITION_COLUMN

SLOT_BITS = 26
# splitmix64's constants: mixing makes every bit of the key count towards the slot's top bits.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


class RepeatedKeys:
    def __init__(self, keys: Sequence[str], slot_bits: int = SLOT_BITS):
        if not keys:
            raise ValueError("repeated keys need key columns")
        self.keys = list(keys)
        self.shift = np.uint64(64 - slot_bits)
        self.seen = np.zeros(1 << (slot_bits - 3), np.uint8)
        self.repeated = np.zeros(1 << (slot_bits - 3), np.uint8)

    def observe(self, batch: pa.RecordBatch) -> None:
        """First pass: note the rows of `batch` (its keys and `partition_date`, no key null)."""
        unique, counts = np.unique(self._slots(batch), return_counts=True)
        again = unique[(counts > 1) | _marked(self.seen, unique)]
        _mark(self.repeated, again)
        _mark(self.seen, unique)

    def candidates(self, batch: pa.RecordBatch) -> np.ndarray:
        """Second pass, after every row was observed: which rows of `batch` may be repeated."""
        return _marked(self.repeated, self._slots(batch))

    def _slots(self, batch: pa.RecordBatch) -> np.ndarray:
        day = batch.column(PARTITION_COLUMN).cast(pa.int32()).to_numpy().astype(np.uint64)
        columns = [batch.column(key) for key in self.keys]
        if len(columns) == 1 and pa.types.is_integer(columns[0].type):
            values = columns[0].cast(pa.int64()).to_numpy().view(np.uint64)
        else:  # text or composite keys: Python's hash of the values, stable within this process
            rows = zip(*(_hashable(column) for column in columns), strict=True)
            values = np.fromiter(map(hash, rows), np.int64, batch.num_rows).view(np.uint64)
        mixed = values ^ (day * _GOLDEN)
        mixed = (mixed ^ (mixed >> np.uint64(30))) * _MIX_1
        mixed = (mixed ^ (mixed >> np.uint64(27))) * _MIX_2
        return (mixed ^ (mixed >> np.uint64(31))) >> self.shift


def _hashable(column: pa.Array) -> list:
    """The values as Python hashes them alike where the warehouse groups them together: every
    NaN (Python hashes each NaN object apart; SQL groups NaNs as one value)."""
    values = column.to_pylist()
    if pa.types.is_floating(column.type):
        return ["NaN" if value != value else value for value in values]
    return values


def _marked(bits: np.ndarray, slots: np.ndarray) -> np.ndarray:
    return ((bits[slots >> np.uint64(3)] >> (slots & np.uint64(7)).astype(np.uint8)) & 1).astype(bool)


def _mark(bits: np.ndarray, slots: np.ndarray) -> None:
    np.bitwise_or.at(bits, slots >> np.uint64(3), np.left_shift(1, (slots & np.uint64(7)).astype(np.uint8)))
