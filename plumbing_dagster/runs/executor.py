"""The executor wrapper every job of this code location runs with (around Dagster's own).

It does four things Dagster's executors do not:
- tags the run with its worker process (`runs/workers.py`), so a dead run can be told apart from
  a slow one by the monitoring daemon, the landing sensor and other runs;
- when a step is blocked on a pool, logs which run holds the slot and since when, and frees the
  slots of holders whose worker is gone (so the next run gets going without a daemon);
- lets an interrupt (Ctrl-C, SIGTERM) end a run while it waits for a slot: Dagster defers
  interrupts to the next step boundary, and a blocked run never reaches one;
- waits for a slot asleep instead of in Dagster's busy loop (`pool_wait.py`).

A wrapper rather than a subclass because Dagster's executors (in-process, multiprocess) are
chosen by config; the wrapper keeps their names, config and requirements.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import dagster as dg
from dagster import DagsterEvent, DagsterExecutionInterruptedError, Executor

# Private, pinned by dagster==1.13.*: an engine event's data, and Dagster's own switch from
# deferred to immediate interrupts (what it uses around user code in a step).
from dagster._core.events import EngineEventData
from dagster._utils.interrupts import raise_interrupts_as

from plumbing_dagster.runs.pool_wait import sleep_while_blocked
from plumbing_dagster.runs.pools import free_slots_of_dead_holders, pool_holders
from plumbing_dagster.runs.workers import RUN_WORKER_TAG, this_worker

# Dagster's own message for a step waiting on a pool (dagster/_core/events: step_concurrency_blocked).
_BLOCKED_MESSAGES = ("Step blocked by limit for pool ", "Step still blocked by limit for pool ")


def blocked_pool(event: DagsterEvent) -> str | None:
    """The pool a step waits for, if `event` is Dagster's "blocked by limit for pool" message."""
    message = event.message or ""
    if event.event_type != dg.DagsterEventType.ENGINE_EVENT or not message.startswith(_BLOCKED_MESSAGES):
        return None
    return message.rsplit(" ", 1)[-1]


def _explain(plan_context: Any, event: DagsterEvent, pool: str) -> Iterator[DagsterEvent]:
    instance = plan_context.instance
    run_id = plan_context.run_id
    holders = [h for h in pool_holders(instance, pool) if h.run_id != run_id]
    if not holders:
        return
    freed = free_slots_of_dead_holders(instance, holders, noticed_by=run_id)
    gone = " (its worker is gone: marked failed, slot freed)"
    lines = [holder.describe() + (gone if holder.run_id in freed else "") for holder in holders]
    yield DagsterEvent.engine_event(
        plan_context,
        f"Step {event.step_key} waits for pool {pool}, held by " + "; ".join(lines),
        EngineEventData(metadata={"pool": pool, "holders": [h.run_id for h in holders]}),
    )


class WatchedExecutor(Executor):
    def __init__(self, inner: Executor):
        self.inner = inner

    @property
    def retries(self) -> Any:
        return self.inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self.inner.step_dependency_config

    def get_step_event_or_retry_event(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.get_step_event_or_retry_event(*args, **kwargs)

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[DagsterEvent]:
        plan_context.instance.add_run_tags(plan_context.run_id, {RUN_WORKER_TAG: this_worker().tag()})
        sleep_while_blocked()
        with ExitStack() as interruptible:
            waiting = False
            for event in self.inner.execute(plan_context, execution_plan):
                pool = blocked_pool(event)
                if pool is None:
                    if waiting:
                        interruptible.close()  # back to Dagster's deferred interrupts
                        waiting = False
                    yield event
                    continue
                yield event
                yield from _explain(plan_context, event, pool)
                if not waiting:
                    # Raises at once if an interrupt came while the step was being scheduled.
                    interruptible.enter_context(raise_interrupts_as(DagsterExecutionInterruptedError))
                    waiting = True


def watched(base: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """`base` (same name, config and requirements) wrapped in a `WatchedExecutor`."""
    create = base.executor_creation_fn
    assert create is not None

    return dg.ExecutorDefinition(
        name=base.name,
        config_schema=base.config_schema,
        requirements=base.get_requirements,
        executor_creation_fn=lambda init_context: WatchedExecutor(create(init_context)),
        description=base.description,
    )
