"""Two landings of the same day at once, on a local folder and on S3 (moto server): whatever the
interleaving, the day's manifest names one complete landing whose files all exist, and clean-up
never deletes a file a manifest names or a landing in progress still needs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plumbing_dagster.landing import LandingZone, Manifest
from plumbing_dagster.landing.swap import SwapStore, Token
from plumbing_dagster.landing.zone import PUBLISH_ATTEMPTS, ManifestConflict
from plumbing_dagster.resources import LandingZoneResource

# The S3 fixtures, imported rather than registered in conftest.py.
from plumbing_dagster_tests.s3 import moto_endpoint, s3_bucket, s3_landing  # noqa: F401

SOURCE, STREAM, DAY = "shop", "orders", date(2026, 11, 1)


@pytest.fixture(params=["local", "s3"])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> LandingZoneResource:
    if request.param == "local":
        return LandingZoneResource(url=str(tmp_path / "landing"))
    return request.getfixturevalue("s3_landing")


def land(zone: LandingZone, load_id: str, rows: int = 3) -> list[str]:
    """Write a landing's files into the day folder (as dlt does), unpublished."""
    relative = f"{zone.day_folder(SOURCE, STREAM, DAY)}/{load_id}.0.parquet"
    if zone.is_local:
        zone.fs.makedirs(zone.path(relative).rsplit("/", 1)[0], exist_ok=True)
    pq.write_table(pa.table({"id": list(range(rows))}), zone.path(relative), filesystem=zone.fs)
    return [relative]


def publish(zone: LandingZone, load_id: str, files: list[str]) -> Manifest:
    return zone.publish(SOURCE, STREAM, DAY, load_id, files, rows=3)


def in_folder(zone: LandingZone) -> list[str]:
    return zone.list_files(zone.day_folder(SOURCE, STREAM, DAY))


def assert_day_is(zone: LandingZone, load_id: str, files: list[str]) -> None:
    manifest = zone.current_manifest(SOURCE, STREAM, DAY)
    assert manifest is not None and manifest.load_id == load_id and manifest.files == files
    assert all(zone.fs.exists(zone.path(f)) for f in manifest.files)
    assert in_folder(zone) == files


class Interleaved(SwapStore):
    """A swap store that lets `meanwhile` happen between the read and each of the first swaps."""

    def __init__(self, inner: SwapStore, meanwhile: list[Callable[[], object]]):
        self.inner, self.meanwhile, self.swaps = inner, list(meanwhile), []

    def read(self, path: str) -> tuple[bytes | None, Token]:
        return self.inner.read(path)

    def swap(self, path: str, data: bytes, expected: Token) -> bool:
        if self.meanwhile:
            self.meanwhile.pop(0)()
        swapped = self.inner.swap(path, data, expected)
        self.swaps.append(swapped)
        return swapped


def test_two_landings_in_flight_keep_each_others_files(landing: LandingZoneResource) -> None:
    """The reported failure: both runs' files in the folder, the first publish's clean-up deleted
    the second's, whose manifest then named a deleted file."""
    first, second = landing.zone(), landing.zone()
    publish(first, "old", land(first, "old"))
    a_files, b_files = land(first, "a"), land(second, "b")
    publish(first, "a", a_files)
    assert in_folder(first) == sorted([*a_files, *b_files])  # "old" replaced; b still in flight
    publish(second, "b", b_files)
    assert_day_is(second, "b", b_files)


def test_the_loser_of_a_swap_publishes_on_top_of_the_winner(landing: LandingZoneResource) -> None:
    first, second = landing.zone(), landing.zone()
    publish(first, "old", land(first, "old"))
    a_files, b_files = land(first, "a"), land(second, "b")
    # `first` has read the manifest ("old"); `second` publishes before `first` swaps.
    interleaved = Interleaved(first.swap_store, [lambda: publish(second, "b", b_files)])
    first._swap_store = interleaved
    manifest = publish(first, "a", a_files)
    assert interleaved.swaps == [False, True]  # lost once, then swapped on the new state
    assert manifest.replaced == b_files
    assert_day_is(first, "a", a_files)
    log = first.fs.find(first.path(first.log_prefix(SOURCE)))
    assert len(log) == 3  # old, b, a: every landing is in the log the sensors follow


def test_a_day_that_keeps_changing_fails_clearly(landing: LandingZoneResource) -> None:
    first, second = landing.zone(), landing.zone()
    a_files = land(first, "a")
    others = [
        (lambda n=n: publish(second, f"other{n}", land(second, f"other{n}"))) for n in range(PUBLISH_ATTEMPTS)
    ]
    first._swap_store = Interleaved(first.swap_store, others)
    with pytest.raises(ManifestConflict, match=r"shop/orders 2026-11-01: the day's manifest changed 5 times"):
        publish(first, "a", a_files)
    last = f"other{PUBLISH_ATTEMPTS - 1}"
    current = first.current_manifest(SOURCE, STREAM, DAY)
    assert current is not None and current.load_id == last
    assert all(first.fs.exists(first.path(f)) for f in current.files)
    assert first.fs.exists(first.path(a_files[0]))  # not published, not deleted: an orphan for later


def test_a_publish_that_died_before_its_clean_up_is_cleaned_up_by_the_next(
    landing: LandingZoneResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = landing.zone()
    old = land(zone, "old")
    publish(zone, "old", old)
    with monkeypatch.context() as died:
        died.setattr(LandingZone, "_remove_files", lambda self, relatives: None)
        publish(zone, "a", land(zone, "a"))
    assert zone.fs.exists(zone.path(old[0]))
    b_files = land(zone, "b")
    publish(zone, "b", b_files)
    assert_day_is(zone, "b", b_files)


def test_orphans_are_removed_once_old_and_kept_while_young(tmp_path: Path) -> None:
    zone = LandingZone(str(tmp_path / "landing"))
    crashed, in_flight = land(zone, "crashed"), land(zone, "in_flight")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(zone.path(crashed[0]), (two_days_ago, two_days_ago))
    a_files = land(zone, "a")
    publish(zone, "a", a_files)
    assert in_folder(zone) == sorted([*a_files, *in_flight])
