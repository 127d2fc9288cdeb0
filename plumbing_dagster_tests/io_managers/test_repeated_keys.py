"""Finding the rows whose key may be landed more than once a day, in fixed memory: no row of a
repeated key is ever missed, whatever shares its slot."""

from collections import Counter
from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from plumbing_dagster.tables import PARTITION_COLUMN
from plumbing_dagster.warehouses.repeated_keys import RepeatedKeys


def batches(keys: list[tuple], days: list[date], names: list[str], size: int) -> list[pa.RecordBatch]:
    columns = {PARTITION_COLUMN: pa.array(days, pa.date32())}
    for index, name in enumerate(names):
        columns[name] = pa.array([key[index] for key in keys])
    whole = pa.RecordBatch.from_pydict(columns)
    return [whole.slice(start, size) for start in range(0, len(keys), size)]


@pytest.mark.parametrize(
    ("names", "make"),
    [
        (["id"], lambda n: (n,)),
        (["id"], lambda n: (f"key-{n}",)),
        (["account", "line"], lambda n: (n % 97, f"line {n // 97}")),
    ],
    ids=["integer", "text", "composite"],
)
def test_every_row_of_a_repeated_key_is_found_and_few_others(
    names: list[str], make: Callable[[int], tuple]
) -> None:
    pick = np.random.default_rng(11)
    numbers = [int(n) for n in pick.integers(0, 6_000, 5_000)]  # many repeats
    days = [date(2026, 11, 1 + int(d)) for d in pick.integers(0, 2, len(numbers))]
    keys = [make(n) for n in numbers]
    repeated = Counter(zip(days, keys, strict=True))
    finder = RepeatedKeys(names, slot_bits=16)  # 65,536 slots: collisions happen
    parts = batches(keys, days, names, 333)
    for part in parts:
        finder.observe(part)
    found = np.concatenate([finder.candidates(part) for part in parts])
    truly = np.array([repeated[pair] > 1 for pair in zip(days, keys, strict=True)])
    assert not (truly & ~found).any()  # none missed
    assert (found & ~truly).sum() < 0.15 * len(keys)  # others only where slots are shared


def test_the_same_key_on_two_days_is_not_repeated() -> None:
    finder = RepeatedKeys(["id"])
    part = batches([(1,), (1,)], [date(2026, 11, 1), date(2026, 11, 2)], ["id"], 10)[0]
    finder.observe(part)
    assert finder.candidates(part).tolist() == [False, False]


def test_not_a_number_is_one_key_as_sql_groups_it() -> None:
    finder = RepeatedKeys(["score"])
    part = pa.RecordBatch.from_pydict(
        {
            PARTITION_COLUMN: pa.array([date(2026, 11, 1)] * 3, pa.date32()),
            "score": [float("nan"), 1.5, float("nan")],
        }
    )
    finder.observe(part)
    assert finder.candidates(part).tolist()[::2] == [True, True]
