"""A vendor's actions become jobs (and schedules when they repeat): the run config is validated
by the action's model, the action runs against the vendor's connection (the emulator in the
sandbox), and a repeating action's schedule skips while it is not due."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import dagster as dg
import pytest
from pydantic import BaseModel

from plumbing_dagster.actions import build_actions
from plumbing_dagster.cli import main
from plumbing_dagster.environments import load_environment
from plumbing_dagster.kit.vendor import Action, ActionContext
from plumbing_dagster.sources.shop import VENDOR as SHOP

CALLS: list[tuple[str, str]] = []


class Greeting(BaseModel):
    word: str


def _greet(context: ActionContext) -> dict[str, str]:
    CALLS.append((context.settings.base_url, context.config.word))  # type: ignore[union-attr]
    return {"said": context.config.word.upper()}  # type: ignore[union-attr]


GREET = Action(
    name="greet",
    run=_greet,
    description="says hello",
    config=Greeting,
    every_minutes=5,
    due=lambda s: "nobody to greet",
)
VENDOR = dataclasses.replace(SHOP, actions=(GREET,))


def test_an_action_is_a_job_that_runs_against_the_vendors_emulator(tmp_path) -> None:
    environment = load_environment(
        {"shop": VENDOR}, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(tmp_path)}
    )
    jobs, schedules = build_actions(VENDOR)
    (job,) = jobs
    assert job.name == "shop_greet" and [s.name for s in schedules] == ["shop_greet_schedule"]
    CALLS.clear()
    result = job.execute_in_process(
        run_config={"ops": {"shop_greet_op": {"config": {"word": "moin"}}}},
        resources={"vendor_apis": environment.vendor_apis},
    )
    assert result.success and CALLS[0][1] == "moin" and CALLS[0][0].startswith("http://127.0.0.1:")
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert output.event_specific_data.metadata["said"].value == "MOIN"

    bad = job.execute_in_process(
        run_config={"ops": {"shop_greet_op": {"config": {"wrod": "moin"}}}},
        resources={"vendor_apis": environment.vendor_apis},
        raise_on_error=False,
    )
    failure = next(e for e in bad.all_events if e.is_step_failure).event_specific_data.error.message
    assert "shop_greet: run config is not valid: word: Field required" in failure


def test_a_repeating_action_skips_while_it_is_not_due(tmp_path) -> None:
    environment = load_environment(
        {"shop": VENDOR}, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(tmp_path)}
    )
    _, (schedule,) = build_actions(VENDOR)
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 27, 10, 5),
        resources={"vendor_apis": environment.vendor_apis},
    )
    assert schedule.cron_schedule == "*/5 * * * *"
    data = schedule.evaluate_tick(context)
    assert data.skip_message == "nobody to greet" and not data.run_requests


def test_plumbing_vendor_action_runs_it_at_the_terminal(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PLUMBING_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("plumbing_dagster.sources.registry.VENDORS", {"shop": VENDOR})
    CALLS.clear()
    assert main(["shop", "greet", "--set", "word=hej"]) == 0
    assert CALLS[0][1] == "hej" and "said: HEJ" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["shop", "wave"])
