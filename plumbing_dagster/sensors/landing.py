"""`<source>_landing_sensor`: new landed files -> staging runs for the days they belong to.

What it lists ("feeds"), each with `list_after` from a position kept in the cursor:
- `_manifests/log/<source>/<write date>/` for dlt-produced streams. Every landing appends one log
  entry whose key starts with the write time (`<UTC timestamp>_<load_id>_<stream>_<YYYYMMDD>.json`),
  so new entries sort after old ones even when a backfill lands into old days. Only the write
  dates from the cursor's on are listed, so a tick never walks the whole history, whatever the
  store's listing costs;
- `<source>/<stream>/` for each stream produced by Airbyte (`<YYYY>_<MM>_<DD>_<epoch_ms>_<part>`),
  whose keys also grow with time.

Why nothing is missed:
- the listing starts *after a key* (S3 StartAfter), so entries sharing a timestamp are all seen
  (their keys differ in load id / part) and a deleted cursor key does not matter;
- late writers — a key stamped before the newest key seen but visible only later — are caught by
  re-listing a look-back window: from `min(cursor key, key of now - LOOKBACK)`. Keys already
  handled inside that window are remembered in the cursor (bounded), so they are not re-checked;
- a key that does not parse or names a day outside the partitions is logged and skipped.

Why no redundant runs: a (stream, day) whose current file set has the fingerprint recorded by the
latest staging materialization of that partition is already staged (a backfill that ran raw and
staging together); while a queued or running run covers that staging partition (the backfill is
between its raw and staging steps), the decision waits in the cursor until that run ends — unless
the run's worker process is gone (killed; `runs/workers.py`), which will never end it; run keys
carry the fingerprint, so the daemon drops repeats of a request.

Cost per tick: per write date since the cursor's (usually one, two around midnight), one listing
request per 1000 keys that are new or inside the look-back window; if
anything changed, one query for in-flight runs, then per distinct changed (stream, day) one
manifest read (or day listing for Airbyte) and one event-log query.
The look-back bound assumes a writer's key becomes visible within LOOKBACK of the time in it
(clock skew included).
"""

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster import SensorEvaluationContext

from plumbing_dagster.config.models import StreamConfig
from plumbing_dagster.keys import staging_key
from plumbing_dagster.landing import LandingZone
from plumbing_dagster.landing.feeds import Feed, Skip
from plumbing_dagster.landing.listing import list_after
from plumbing_dagster.landing.producers import producer_of
from plumbing_dagster.resources import LandingZoneResource
from plumbing_dagster.runs.workers import worker_alive, worker_of
from plumbing_dagster.staging.assets import LANDING_FINGERPRINTS
from plumbing_dagster.staging.landed import day_fingerprint, landed_files

LOOKBACK = timedelta(minutes=10)
# Keys remembered per feed inside the look-back window. Beyond it the oldest are forgotten: they
# are listed again and their (stream, day) re-checked, which costs a little and requests nothing
# new (the fingerprint matches, or the run key was already requested).
MAX_SEEN_PER_FEED = 1000
# New keys handled per feed per tick; the rest waits for the next tick (the cursor stops there).
MAX_NEW_PER_TICK = 5000
LIST_PAGE = 1000
# (stream, day)s waiting for an in-flight run that covers them; past this, they are requested.
MAX_PENDING = 5000
# In-flight runs looked at per tick (queued and running runs are few; this is a safety bound).
MAX_IN_FLIGHT_RUNS = 1000
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
CURSOR_VERSION = 1
MINIMUM_INTERVAL_SECONDS = 30


@dataclass
class FeedCursor:
    after: str | None = None  # the greatest positioned key handled
    seen: set[str] = field(default_factory=set)  # keys handled that a later tick may list again


@dataclass
class _Cursor:
    feeds: dict[str, FeedCursor] = field(default_factory=dict)  # by listing prefix
    # (stream, day)s that changed while a run covering them was in flight: decided once it ends.
    pending: list[tuple[str, str]] = field(default_factory=list)


def _load_cursor(text: str | None, context: SensorEvaluationContext) -> _Cursor:
    if not text:
        return _Cursor()
    try:
        data = json.loads(text)
        if data.get("version") != CURSOR_VERSION:
            raise ValueError(f"cursor version {data.get('version')!r}")
        feeds = {
            prefix: FeedCursor(
                after=state.get("after"), seen={prefix + name for name in state.get("seen", [])}
            )
            for prefix, state in data["feeds"].items()
        }
        pending = [(str(stream), str(day)) for stream, day in data.get("pending", [])]
        return _Cursor(feeds, pending)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Starting over re-lists everything once; fingerprints keep that from requesting reruns.
        context.log.warning(f"unreadable sensor cursor ({exc}); listing from the start")
        return _Cursor()


def _dump_cursor(cursor: _Cursor) -> str:
    feeds = {
        prefix: {"after": state.after, "seen": sorted(k[len(prefix) :] for k in state.seen)}
        for prefix, state in sorted(cursor.feeds.items())
    }
    data = {"version": CURSOR_VERSION, "feeds": feeds, "pending": [list(p) for p in cursor.pending]}
    return json.dumps(data, separators=(",", ":"))


def _window_start(feed: Feed, after: str | None, now: datetime, lookback: timedelta) -> str | None:
    """Where to list from: after the cursor, or earlier if the look-back window reaches back."""
    if after is None:
        return None
    return min(after, feed.key_at(now - lookback))


def _scan(zone: LandingZone, feed: Feed, state: FeedCursor, now: datetime, lookback: timedelta) -> list[str]:
    """Keys of `feed` not handled yet, in key order; moves `state` past them."""
    start = _window_start(feed, state.after, now, lookback)
    new: list[str] = []
    for prefix in feed.listing_prefixes(zone, start, now):
        after = start
        while len(new) < MAX_NEW_PER_TICK:
            page = list_after(zone, prefix, after, limit=LIST_PAGE)
            for key in page:
                if key in state.seen:
                    continue
                state.seen.add(key)
                if feed.is_positioned(key) and (state.after is None or key > state.after):
                    state.after = key
                new.append(key)
                if len(new) >= MAX_NEW_PER_TICK:
                    break  # every key not handled sorts after this one: the next tick resumes here
            if len(page) < LIST_PAGE:
                break
            after = page[-1]
        if len(new) >= MAX_NEW_PER_TICK:
            break
    # Keys at or before the next tick's window start are never listed again: forget them.
    floor = _window_start(feed, state.after, now, lookback)
    kept = sorted(k for k in state.seen if floor is None or k > floor)
    state.seen = set(kept[-MAX_SEEN_PER_FEED:])
    return new


def _in_flight_runs(context: SensorEvaluationContext) -> list[dg.DagsterRun]:
    """Queued and running runs, except those whose worker process is gone (a dead run's status
    stays "started" until run monitoring notices; waiting on it would wait forever)."""
    runs = context.instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT), limit=MAX_IN_FLIGHT_RUNS)
    alive = []
    for run in runs:
        if worker_alive(context.instance, run) is False:
            context.log.info(f"not waiting for run {run.run_id}: its worker ({worker_of(run)}) is gone")
            continue
        alive.append(run)
    return alive


def _run_covers(
    run: dg.DagsterRun,
    asset_key: dg.AssetKey,
    day: str,
    context: SensorEvaluationContext,
) -> bool:
    """Whether `run` (queued or running) will stage `asset_key` for `day`.

    Such a run reads the day's files when its staging step starts, so it may pick up what just
    landed (a backfill landing and staging in one run does); deciding after it ends avoids a
    second run for the same files.
    """
    tags = run.tags
    if tags.get(PARTITION_TAG) is not None:
        if tags[PARTITION_TAG] != day:
            return False
    elif RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        if not tags[RANGE_START_TAG] <= day <= tags[RANGE_END_TAG]:  # ISO days sort as dates
            return False
    else:
        return False
    if run.asset_selection:
        return asset_key in run.asset_selection
    # A whole asset job (the daily schedule's): look at what the job materializes.
    repository = context.repository_def
    if repository is None or not repository.has_job(run.job_name):
        return False
    try:
        job = repository.get_job(run.job_name)
    except dg.DagsterError:  # not resolvable here: do not wait on it, request instead
        return False
    return asset_key in job.asset_layer.executable_asset_keys


def _staged_fingerprint(instance: dg.DagsterInstance, asset_key: dg.AssetKey, day: str) -> str | None:
    """The landing fingerprint the latest staging materialization of `day` recorded, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[day]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get(LANDING_FINGERPRINTS)
    data = value.value if isinstance(value, dg.JsonMetadataValue) else None
    # A range run records every day of the range in each partition's materialization.
    fingerprint = data.get(day) if isinstance(data, dict) else None
    return fingerprint if isinstance(fingerprint, str) else None


def build_landing_sensor(
    source: str,
    streams: Mapping[str, StreamConfig],
    partitions_def: dg.PartitionsDefinition,
    *,
    lookback: timedelta = LOOKBACK,
) -> dg.SensorDefinition:
    """The sensor that requests `staging/<source>/<stream>` runs for newly landed days."""
    configs = {config.stream: config for config in streams.values()}
    by_producer: dict[str, list[str]] = defaultdict(list)
    for stream, config in sorted(configs.items()):
        by_producer[config.producer].append(stream)
    feeds: list[Feed] = [
        feed
        for name, names in sorted(by_producer.items())
        for feed in producer_of(configs[names[0]]).feeds(source, names)
    ]
    name = f"{source}_landing_sensor"

    @dg.sensor(
        name=name,
        target=dg.AssetSelection.assets(*(staging_key(source, s) for s in sorted(configs))),
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Requests staging runs for the {source} days that new landings changed "
            "(manifest log for dlt streams, Airbyte files for Airbyte streams)."
        ),
    )
    def _landing_sensor(context: SensorEvaluationContext, landing: LandingZoneResource) -> dg.SensorResult:
        zone = landing.zone()
        now = datetime.now(UTC)
        previous = _load_cursor(context.cursor, context)
        cursor = _Cursor()
        # (stream, day) -> why it is looked at: the first new key, or an earlier deferral.
        changed: dict[tuple[str, str], str] = {
            (stream, day): "deferred" for stream, day in previous.pending if stream in configs
        }
        for feed in feeds:
            state = previous.feeds.get(feed.prefix, FeedCursor())
            cursor.feeds[feed.prefix] = state
            for key in _scan(zone, feed, state, now, lookback):
                if key.endswith(".tmp"):  # a local atomic write in progress; its final key follows
                    continue
                try:
                    stream, day = feed.resolve(zone, key)
                    day_key = f"{day:%Y-%m-%d}"
                    if not partitions_def.has_partition_key(day_key):
                        raise Skip(f"day {day_key} is outside the partitions of {source}")
                except Skip as skip:
                    context.log.warning(f"{name}: skipped {key}: {skip}")
                    continue
                changed.setdefault((stream, day_key), key)

        run_requests: list[dg.RunRequest] = []
        requested_days: list[tuple[str, str]] = []
        in_flight = _in_flight_runs(context) if changed else []
        for (stream, day_key), key in changed.items():
            config = configs[stream]
            asset_key = staging_key(source, stream)
            covering = next((r for r in in_flight if _run_covers(r, asset_key, day_key, context)), None)
            if covering is not None and len(cursor.pending) < MAX_PENDING:
                context.log.debug(f"{name}: {stream} {day_key} deferred until run {covering.run_id} ends")
                cursor.pending.append((stream, day_key))
                continue
            try:
                files = landed_files(zone, source, config, date.fromisoformat(day_key))
            except (ValueError, TypeError) as exc:  # unreadable manifest: staging fails too
                context.log.warning(f"{name}: skipped {stream} {day_key} ({key}): {exc}")
                continue
            fingerprint = day_fingerprint(files)
            if _staged_fingerprint(context.instance, asset_key, day_key) == fingerprint:
                context.log.debug(f"{name}: {stream} {day_key} already staged ({fingerprint})")
                continue
            run_requests.append(
                dg.RunRequest(
                    run_key=f"{source}/{stream}/{day_key}/{fingerprint}",
                    asset_selection=[asset_key],
                    partition_key=day_key,
                    tags={"plumbing/landing_fingerprint": fingerprint},
                )
            )
            requested_days.append((stream, day_key))
        if run_requests:
            requested = ", ".join(f"{stream} {day}" for stream, day in requested_days)
            context.log.info(f"{name}: {len(run_requests)} staging run(s) for {requested}")
        return dg.SensorResult(run_requests=run_requests, cursor=_dump_cursor(cursor))

    return _landing_sensor
