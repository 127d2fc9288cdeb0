"""A run whose steps wait for a pool slot waits asleep, not in a busy loop.

Dagster 1.13's executors never sleep while their remaining steps wait for a pool slot. The
in-process executor sleeps `ActiveExecution.sleep_interval()`, which is always 0 there, because
`InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns `min(0, ...)`
(dagster-io/dagster#20367 set out to fix it and was closed). The multiprocess executor's loop has
no sleep at all. A run waiting for `api_<source>` or `duckdb_writer` then takes a whole core for as
long as it waits (measured: 4.98 s of CPU in 5 s), slowing the run that holds the slot.

`sleep_while_blocked()` wraps `ActiveExecution.concurrency_event_iterator`, which both executors
call on every turn of their loop. After its events, when no step is in flight and some step waits
for a slot, it sleeps until that step's next claim check (Dagster's own back-off, 1 s growing to
15 s), at most `MAX_NAP_SECONDS`, so an interrupt is handled within that. Private API, pinned by
dagster==1.13.*: `test_pool_wait.py` fails if these attributes go away or a blocked run spins again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

from dagster._core.execution.plan.active import ActiveExecution

MAX_NAP_SECONDS = 0.5

_WRAPPED_MARK = "_plumbing_sleeps_while_blocked"


def nap_seconds(active: ActiveExecution) -> float:
    """How long the executor's loop can sleep now: until the next claim check of a step waiting
    for a slot, if nothing else is in flight; 0 otherwise."""
    pools = active._instance_concurrency_context  # noqa: SLF001 (private, pinned: see module doc)
    if pools is None or active._in_flight or not pools.has_pending_claims():  # noqa: SLF001
        return 0.0
    next_check = min(pools._pending_timeouts.values(), default=0.0)  # noqa: SLF001
    return min(max(next_check - time.time(), 0.0), MAX_NAP_SECONDS)


def _sleeping(events: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(events)
    def concurrency_event_iterator(self: ActiveExecution, *args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from events(self, *args, **kwargs)
        nap = nap_seconds(self)
        if nap > 0:
            time.sleep(nap)

    setattr(concurrency_event_iterator, _WRAPPED_MARK, True)
    return concurrency_event_iterator


def sleep_while_blocked() -> None:
    """Make the executors of this process sleep while their steps wait for a slot (once)."""
    current = ActiveExecution.concurrency_event_iterator
    if not getattr(current, _WRAPPED_MARK, False):
        ActiveExecution.concurrency_event_iterator = _sleeping(current)  # type: ignore[method-assign]
