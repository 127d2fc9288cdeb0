"""comdirect end to end in the sandbox, as a person and the schedules would run it: `comdirect_login`
(whose push the emulator approves by itself), a day of `raw/comdirect/*` and `staging/comdirect/*`,
the keep-alive schedule through a simulated hour, a scheduled run that needs no new TAN; a lapsed
session that fails runs clearly and starts no challenge; the daily balance mart reconciled; and
no token anywhere in what the runs said.

Each Dagster run starts its own emulator on the sandbox's state folder, as in `plumbing sandbox`;
the bank remembers between them there. Time is simulated: one clock for the bank and the client.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from plumbing_dagster.config import DEFAULT_DAG_DIR
from plumbing_dagster.definitions import build_definitions
from plumbing_dagster.environments import Environment, load_environment
from plumbing_dagster.keys import stream_selection
from plumbing_dagster.kit import Vendor
from plumbing_dagster.sources.comdirect import ComdirectEmulator, make_vendor, sandbox_emulator
from plumbing_dagster_tests.assets.helpers import warehouse_rows
from plumbing_dagster_tests.conftest import check_results, materialize

T0 = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # when the daily schedule runs 2026-11-02 (02:00 in Berlin)
STREAMS = ("accounts", "balances", "transactions", "pending_transactions")
DAY_ASSETS = stream_selection("comdirect", STREAMS)
MART = "marts/comdirect/daily_balances"


class SimClock:
    def __init__(self, start: datetime):
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    advance = sleep


@dataclass
class Sandbox:
    clock: SimClock
    vendor: Vendor
    environment: Environment
    defs: dg.Definitions
    instance: dg.DagsterInstance
    state_dir: Path

    def login(self, **config: Any) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def("comdirect_login")
        (op,) = job.graph.nodes  # the action's one op, whatever the kit names it
        run_config = {"ops": {op.name: {"config": config}}}
        return job.execute_in_process(run_config=run_config, instance=self.instance, raise_on_error=False)

    def keepalive_tick(self) -> dg.ExecuteInProcessResult | str:
        """One tick of the keep-alive schedule: its run, or why it skipped."""
        schedule = self.defs.resolve_schedule_def("comdirect_keepalive_schedule")
        context = dg.build_schedule_context(
            instance=self.instance,
            scheduled_execution_time=datetime.fromtimestamp(self.clock(), UTC),
            resources={"vendor_apis": self.environment.vendor_apis},
        )
        data = schedule.evaluate_tick(context)
        if not data.run_requests:
            return str(data.skip_message)
        job = self.defs.resolve_job_def("comdirect_keepalive")
        return job.execute_in_process(instance=self.instance)

    def materialize(self, selection: list[str], day: str, **kwargs: Any) -> dg.ExecuteInProcessResult:
        return materialize(self.defs, selection, partition_key=day, instance=self.instance, **kwargs)

    def bank(self) -> ComdirectEmulator:
        """What the bank remembers (another emulator on the same state folder)."""
        return sandbox_emulator(str(self.state_dir), clock=self.clock).recall()

    def session_file(self) -> Path:
        return self.state_dir / "comdirect" / "session.json"


@pytest.fixture
def sandbox_bank(tmp_path: Path) -> Sandbox:
    clock = SimClock(T0)
    vendor = make_vendor(clock=clock, sleep=clock.sleep, push_delay=8)
    dag = tmp_path / "dag"  # only comdirect's streams: the definitions are built for this vendor alone
    for kind in ("sources", "streams"):
        shutil.copytree(DEFAULT_DAG_DIR / kind / "comdirect", dag / kind / "comdirect")
    data = tmp_path / "data"
    environment = load_environment(
        {"comdirect": vendor}, {"PLUMBING_ENV": "sandbox", "PLUMBING_DATA_DIR": str(data)}
    )
    defs = build_definitions(environment, dag, vendors={"comdirect": vendor})
    return Sandbox(clock, vendor, environment, defs, dg.DagsterInstance.ephemeral(), data / "emulators")


def _failure(result: dg.ExecuteInProcessResult) -> list[str]:
    """The failed step's error and its causes, outermost first."""
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error, said = failure.event_specific_data.error, []
    while error is not None:
        said.append(error.message.strip())
        error = error.cause
    return said


def _everything_said(instance: dg.DagsterInstance) -> str:
    """Every run's config, events (messages, metadata, errors) as the instance keeps them."""
    parts = []
    for run in instance.get_runs():
        parts.append(repr(run.run_config))
        for entry in instance.all_logs(run.run_id):
            parts.append(entry.message or "")
            parts.append(repr(entry.dagster_event))
    return "\n".join(parts)


def test_login_then_a_day_lands_and_an_hour_later_a_scheduled_run_needs_no_new_tan(
    sandbox_bank: Sandbox, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    sb = sandbox_bank
    assert sb.keepalive_tick() == "no comdirect session stored: a person runs comdirect_login"

    login = sb.login()
    assert login.success
    (output,) = [e for e in login.all_events if e.event_type_value == "STEP_OUTPUT"]
    shown = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert shown == {"session": "active", "valid_for_seconds": 599, "tan_type": "P_TAN_PUSH"}
    assert oct(sb.session_file().stat().st_mode & 0o777) == "0o600"

    first = sb.materialize(DAY_ASSETS, "2026-11-02")
    assert first.success
    bank = sb.bank()
    expected = {
        t["reference"]
        for acc in bank.world.account_list()
        for t in bank.world.transactions(acc.account_id, date(2026, 11, 2), date(2026, 11, 2))
    }
    staged = warehouse_rows(sb.environment, "SELECT reference, amount FROM comdirect.transactions")
    assert {r[0] for r in staged} == expected and len(expected) > 0
    types = dict(
        warehouse_rows(
            sb.environment,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'comdirect' AND table_name = 'balances'",
        )
    )
    assert types["balance"].startswith("DECIMAL") and types["closing_date"] == "DATE"
    assert len(warehouse_rows(sb.environment, "SELECT * FROM comdirect.accounts")) == 3
    assert all(e.passed for e in check_results(first).values())

    # An hour of the keep-alive schedule, ticking every three minutes.
    refreshes = 0
    for _ in range(20):
        sb.clock.advance(180)
        tick = sb.keepalive_tick()
        if isinstance(tick, str):
            assert tick.startswith("the comdirect session is valid for another")
        else:
            assert tick.success
            refreshes += 1
    assert refreshes >= 8

    later = sb.materialize(DAY_ASSETS, "2026-11-02")  # the scheduled run, an hour after the login
    assert later.success
    bank = sb.bank()
    assert (bank.counters.login_attempts, bank.counters.challenges_issued) == (1, 1)  # no new TAN
    assert bank.counters.token_refreshes >= refreshes

    # No token (access, refresh, two-factor) in any run's config, events, metadata, logs or output.
    said = _everything_said(sb.instance) + caplog.text + "".join(capfd.readouterr())
    tokens = bank.issued_tokens()
    assert len(tokens) > 2 * refreshes
    assert [t for t in tokens if t in said] == []


def test_a_lapsed_session_fails_runs_clearly_until_a_person_logs_in_and_the_mart_reconciles(
    sandbox_bank: Sandbox,
) -> None:
    sb = sandbox_bank
    assert sb.login().success
    assert sb.materialize([*DAY_ASSETS, MART], "2026-11-02").success

    sb.clock.advance(timedelta(days=1).total_seconds())  # nobody kept the session alive
    assert sb.keepalive_tick().startswith("session expired: run comdirect_login")
    failed = sb.materialize(DAY_ASSETS, "2026-11-03", raise_on_error=False)
    assert not failed.success
    # Raised when the client opened, before dlt read anything: the error's direct cause.
    assert _failure(failed)[1].endswith("SessionExpired: session expired: run comdirect_login")
    bank = sb.bank()
    assert (bank.counters.login_attempts, bank.counters.challenges_issued) == (1, 1)  # nothing attempted

    assert sb.login().success  # a person logs in again
    result = sb.materialize([*DAY_ASSETS, MART], "2026-11-03")
    assert result.success
    check = check_results(result)["marts/comdirect/daily_balances:balance_change_matches_bookings"]
    counts = {k: v.value for k, v in check.metadata.items()}
    assert check.passed and counts["reconciled"] == 3 and counts["unexplained"] == 0
    mart = warehouse_rows(
        sb.environment,
        "SELECT account_id, closing_balance, previous_closing_balance, booked_amount, unexplained "
        "FROM marts_comdirect.daily_balances WHERE partition_date = DATE '2026-11-03'",
    )
    closed = sb.bank().world.balances(date(2026, 11, 3))
    assert {r[0]: r[1] for r in mart} == closed
    assert any(r[3] != 0 for r in mart)  # a day with bookings, so the check had work to do

    # A quarter's end: its closing is valued on 2026-09-31, which is kept as sent and counted.
    assert sb.materialize(
        ["raw/comdirect/transactions_landed", "staging/comdirect/transactions"], "2026-09-30"
    ).success
    impossible = warehouse_rows(
        sb.environment,
        "SELECT valuta_date FROM comdirect.transactions WHERE NOT valuta_date_valid",
    )
    assert impossible == [("2026-09-31",)]
