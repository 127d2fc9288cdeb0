"""comdirect's client against its emulator over real HTTP: the login a person makes (one challenge,
never one that could lock the account), the session kept alive and shared between processes,
a lapsed session failing clearly, the streams and their columns, the session stores.

Time is simulated (`SimClock`): the emulator's tokens, challenges and data and the client's
refreshes and push polling all run on it, so nothing waits for real.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plumbing_dagster.kit import ConnectionError_, Extract, SessionExpired, Window
from plumbing_dagster.kit.auth import Token
from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.sources.comdirect import VENDOR, ComdirectConnection, connect
from plumbing_dagster.sources.comdirect.api import BALANCES
from plumbing_dagster.sources.comdirect.emulator import ComdirectEmulator, ComdirectWorld
from plumbing_dagster.sources.comdirect.emulator.app import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
)
from plumbing_dagster.sources.comdirect.emulator.memory import restore, snapshot
from plumbing_dagster.sources.comdirect.endpoints import ENDPOINTS, transactions_endpoint
from plumbing_dagster.sources.comdirect.guard import LoginFailed, LoginRefused, LoginRequest, LoginResult
from plumbing_dagster.sources.comdirect.login import EXPIRED, LoginFlow
from plumbing_dagster.sources.comdirect.pg_store import PostgresSessionStore
from plumbing_dagster.sources.comdirect.records import (
    ACCOUNT_FIELDS,
    BALANCE_FIELDS,
    PENDING_FIELDS,
    TRANSACTION_FIELDS,
    transaction_row,
)
from plumbing_dagster.sources.comdirect.store import FileSessionStore, LoginBusy, open_store
from plumbing_dagster.sources.comdirect.tokens import due, keep_alive

START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC).timestamp()  # 10:00 in Berlin
RIGHT_TAN = "123456"


class SimClock:
    """Wall-clock seconds that move only when told to, or when someone sleeps on them."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    advance = sleep


@dataclasses.dataclass
class Bank:
    emulator: ComdirectEmulator
    server: EmulatorServer
    settings: ComdirectConnection
    clock: SimClock

    def login(self, request: LoginRequest | None = None, ask: Any = None) -> LoginResult:
        store = open_store(self.settings)
        flow = LoginFlow(
            self.settings, store, clock=self.clock, sleep=self.clock.sleep, log=logging.getLogger("t")
        )
        try:
            return flow.run(request or LoginRequest(), ask=ask)
        finally:
            flow.close()
            store.close()

    def connect(self) -> Any:
        return connect(self.settings, clock=self.clock, sleep=self.clock.sleep)

    def record(self) -> Any:
        store = open_store(self.settings)
        try:
            return store.read()
        finally:
            store.close()


def settings_for(url: str, store: str) -> ComdirectConnection:
    return ComdirectConnection(
        base_url=url,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        username=SANDBOX_USERNAME,
        password=SANDBOX_PASSWORD,
        session_store=store,
    )


@contextmanager
def bank(tmp_path: Path, clock: SimClock | None = None, **kwargs: Any) -> Iterator[Bank]:
    clock = clock or SimClock()
    kwargs.setdefault("rate_limit", None)
    emulator = ComdirectEmulator(ComdirectWorld(clock=clock), clock=clock, **kwargs)
    with EmulatorServer(emulator) as server:
        yield Bank(emulator, server, settings_for(server.url, f"file:{tmp_path / 'session.json'}"), clock)


def rows(pages: Iterator[Any]) -> list[dict[str, Any]]:
    return [row for page in pages for row in page]


# -- the login ------------------------------------------------------------------------------------


def test_a_push_login_stores_the_pair_and_the_client_banks_with_it(tmp_path: Path) -> None:
    with bank(tmp_path, push_delay_seconds=4) as b:
        result = b.login()
        assert result.metadata() == {"session": "active", "valid_for_seconds": 599, "tan_type": "P_TAN_PUSH"}
        counters = b.emulator.counters
        assert (counters.challenges_issued, counters.activations, counters.wrong_tans) == (1, 1, 0)
        assert counters.status_polls >= 2  # it waited for the app, PATCHing only once approved
        path = tmp_path / "session.json"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        record = b.record()
        assert record.token and record.session_id and record.guard.challenges == 0
        assert SANDBOX_USERNAME not in path.read_text()  # the record's key is a digest
        with b.connect() as client:
            assert len(rows(ENDPOINTS["accounts"].fetch(client, Extract(None)))) == 3
        # Logging in again while the session lives: a refresh proves it, no challenge is sent.
        again = b.login()
        assert again.status == "already_active" and b.emulator.counters.challenges_issued == 1


def test_a_denied_push_fails_the_login_and_sends_no_second_challenge(tmp_path: Path) -> None:
    with bank(tmp_path, push="deny", push_delay_seconds=5) as b:
        with pytest.raises(LoginFailed, match="ended as DENIED.*No further challenge was sent"):
            b.login()
        counters = b.emulator.counters
        assert (counters.challenges_issued, counters.wrong_tans, counters.activations) == (1, 0, 0)
        assert b.record().token is None and b.record().guard.challenges == 1


def test_an_unanswered_push_stops_at_its_deadline(tmp_path: Path) -> None:
    with bank(tmp_path, push="never") as b:
        with pytest.raises(LoginFailed, match="not approved within 60 s"):
            b.login(LoginRequest(push_timeout=60))
        assert START + 60 <= b.clock.now < START + 61  # it stopped at the deadline, not later
        counters = b.emulator.counters
        assert (counters.challenges_issued, counters.wrong_tans) == (1, 0) and counters.status_polls > 5


def test_a_wrong_tan_twice_refuses_the_third_login_without_override(tmp_path: Path) -> None:
    with bank(tmp_path, tan_types=("M_TAN",), correct_tan=RIGHT_TAN) as b:
        with pytest.raises(LoginFailed, match="TAN was not accepted; wrong TANs .*: 1"):
            b.login(ask=lambda prompt: "000000")
        with pytest.raises(LoginRefused, match="without override"):
            b.login(ask=lambda prompt: RIGHT_TAN)
        assert b.emulator.counters.login_attempts == 1  # refused before anything was sent
        with pytest.raises(LoginFailed, match="wrong TANs .*: 2"):
            b.login(LoginRequest(override=True), ask=lambda prompt: "111111")
        for override in (False, True):  # one more wrong TAN would lock: refused, override or not
            with pytest.raises(LoginRefused, match="one more failure would lock online banking"):
                b.login(LoginRequest(override=override), ask=lambda prompt: RIGHT_TAN)
        counters = b.emulator.counters
        assert (counters.login_attempts, counters.challenges_issued, counters.wrong_tans) == (2, 2, 2)
        assert not b.emulator.locked
        b.emulator.unlock()  # the customer logs in at the bank's website: its counts are reset
        assert b.login(LoginRequest(counts_reset=True), ask=lambda prompt: RIGHT_TAN).status == "active"
        assert b.record().guard.wrong_tans == 0


def test_two_unanswered_challenges_need_an_override(tmp_path: Path) -> None:
    with bank(tmp_path, push="expire", push_delay_seconds=5) as b:
        for _ in range(2):
            with pytest.raises(LoginFailed, match="ended as EXPIRED"):
                b.login()
        with pytest.raises(LoginRefused, match="2 challenge"):
            b.login()
        assert b.emulator.counters.challenges_issued == 2


def test_an_sms_tan_is_asked_at_the_terminal_or_brought_by_a_second_job_run(tmp_path: Path) -> None:
    with bank(tmp_path, tan_types=("M_TAN", "P_TAN"), correct_tan=RIGHT_TAN) as b:
        prompts: list[str] = []
        result = b.login(ask=lambda prompt: prompts.append(prompt) or RIGHT_TAN)
        assert result.status == "active" and "SMS-TAN sent to +49 151 ******" in prompts[0]
        # Without a terminal (a job): the first run starts the challenge, the second brings its TAN.
        b.clock.advance(700)  # the session lapses
        waiting = b.login().metadata()
        assert waiting["session"] == "waiting for the TAN" and "SMS-TAN sent to" in waiting["challenge"]
        with pytest.raises(LoginRefused, match="waits for its TAN"):
            b.login()  # no second challenge while the first one waits
        assert b.login(LoginRequest(tan=RIGHT_TAN)).status == "active"
        assert b.emulator.counters.challenges_issued == 2  # one per login
        photo = b.login(LoginRequest(tan_type="P_TAN"))
        assert photo.status == "already_active"  # the session lives: no challenge at all


def test_without_push_the_customers_own_method_is_still_one_challenge(tmp_path: Path) -> None:
    with bank(tmp_path, tan_types=("M_TAN",), correct_tan=RIGHT_TAN) as b:
        assert b.login(ask=lambda prompt: RIGHT_TAN).tan_type == "M_TAN"
        assert b.emulator.counters.challenges_issued == 1


def test_a_wrong_pin_is_counted_and_no_secret_shows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with bank(tmp_path, password="999999") as b:
        with pytest.raises(LoginFailed) as failed:
            b.login()
        assert "access number or PIN" in str(failed.value) and b.record().guard.wrong_pins == 1
        with pytest.raises(LoginRefused, match="1 wrong PIN"):
            b.login()
    said = f"{failed.value}\n{caplog.text}"
    for secret in b.settings.secrets():
        assert secret not in said


def test_only_one_login_runs_at_a_time(tmp_path: Path) -> None:
    store = FileSessionStore(tmp_path / "s.json", "c")
    with store.login_lock(), pytest.raises(LoginBusy):
        with FileSessionStore(tmp_path / "s.json", "c").login_lock():
            pass


# -- keeping the session alive --------------------------------------------------------------------


def test_the_keep_alive_refreshes_only_when_due_and_an_hour_later_the_client_still_banks(
    tmp_path: Path,
) -> None:
    with bank(tmp_path) as b:
        store = open_store(b.settings)
        assert due(store.read(), b.clock()) == "no comdirect session stored: a person runs comdirect_login"
        b.login()
        assert due(store.read(), b.clock()).startswith("the comdirect session is valid for another")
        for _ in range(20):  # an hour of ticks, every three minutes
            b.clock.advance(180)
            if due(store.read(), b.clock()) is None:
                keep_alive(b.settings, store, clock=b.clock)
        assert 8 <= b.emulator.counters.token_refreshes <= 12
        with b.connect() as client:
            assert rows(ENDPOINTS["accounts"].fetch(client, Extract(None)))
        assert b.emulator.counters.challenges_issued == 1 and b.emulator.counters.login_attempts == 1


def test_a_lapsed_chain_fails_clearly_and_starts_no_challenge(tmp_path: Path) -> None:
    with bank(tmp_path) as b:
        b.login()
        b.clock.advance(600)
        assert due(b.record(), b.clock()).startswith(EXPIRED)
        with pytest.raises(SessionExpired) as expired:
            b.connect()
        assert str(expired.value) == EXPIRED
        counters = b.emulator.counters
        assert (counters.login_attempts, counters.challenges_issued, counters.token_refreshes) == (1, 1, 0)


def test_a_session_the_bank_ended_fails_clearly(tmp_path: Path) -> None:
    with bank(tmp_path) as b:
        b.login()
        with b.connect() as client:
            b.emulator.desk.tokens.expire_all()  # the bank ends it (a revocation elsewhere)
            with pytest.raises(SessionExpired, match="session expired: run comdirect_login"):
                rows(ENDPOINTS["accounts"].fetch(client, Extract(None)))
        assert b.emulator.counters.challenges_issued == 1


def test_production_settings_never_log_in_by_themselves(tmp_path: Path) -> None:
    with bank(tmp_path) as b:
        settings = dataclasses.replace(b.settings, session_store="memory:never-logged-in")
        with pytest.raises(SessionExpired, match=f"^{EXPIRED}$"):
            connect(settings)
        assert b.emulator.counters.login_attempts == 0
    with pytest.raises(ConnectionError_, match="unknown connection setting"):
        ComdirectConnection.from_values({**settings.values(), "sandbox_login": "true"})
    # The sandbox's own self-login is refused against anything but loopback.
    remote = dataclasses.replace(
        VENDOR.sandbox_connection("https://api.comdirect.de"), session_store="memory:remote"
    )
    with connect(remote) as client, pytest.raises(SessionExpired, match=f"^{EXPIRED}$"):
        client.api.get_json(BALANCES)


def _bank_from_another_process(values: dict[str, str], barrier: Any, results: Any) -> None:
    settings = ComdirectConnection(**values)
    try:
        with connect(settings) as client:
            barrier.wait(timeout=30)
            first = client.api.get_json(BALANCES)
            second = client.api.get_json(BALANCES)
        results.put(("ok", len(first["values"]), len(second["values"])))
    except Exception as error:  # noqa: BLE001 - reported to the parent
        results.put(("failed", repr(error), 0))


def test_two_processes_refreshing_at_once_refresh_once_and_both_keep_working(tmp_path: Path) -> None:
    emulator = ComdirectEmulator(push_delay_seconds=0, rate_limit=None)  # real time here
    with EmulatorServer(emulator) as server:
        settings = settings_for(server.url, f"file:{tmp_path / 'session.json'}")
        store = open_store(settings)
        flow = LoginFlow(settings, store, clock=time.time, sleep=lambda s: None, log=logging.getLogger("t"))
        flow.run(LoginRequest())
        flow.close()
        # The stored pair looks 30 s from expiry (the bank gives it 599): both children refresh.
        record = store.read()
        record.token = dataclasses.replace(record.token, expires_at=time.time() + 30)
        store.write(record)
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(2), context.Queue()
        children = [
            context.Process(target=_bank_from_another_process, args=(settings.values(), barrier, results))
            for _ in range(2)
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=60) for _ in children]
        for child in children:
            child.join(timeout=30)
        assert outcomes == [("ok", 3, 3), ("ok", 3, 3)]
        assert emulator.counters.token_refreshes == 1  # one refresh, whose pair both used
        with connect(settings) as client:
            assert client.api.get_json(BALANCES)["values"]


# -- streams ----------------------------------------------------------------------------------------


def test_rows_carry_signs_parties_and_impossible_valuta_dates_as_sent() -> None:
    party = {"holderName": "ASD GmbH", "iban": "DE02100100109307118603", "bic": "PBNKDEFFXXX"}
    sent = {
        "reference": "R1",
        "bookingStatus": "BOOKED",
        "bookingDate": "2026-02-27",
        "amount": {"value": "3150.5", "unit": "EUR"},
        "remitter": {"holderName": "ASD GmbH"},
        "deptor": party,
        "creditor": None,
        "valutaDate": "2026-02-30",
        "transactionType": {"key": "TRANSFER", "text": "Transfer"},
    }
    row = transaction_row(sent, "A1", booked=True)
    assert (row["amount"], row["amount_unit"], row["direction"]) == ("3150.5", "EUR", "CREDIT")
    assert (row["debtor_name"], row["debtor_iban"]) == ("ASD GmbH", party["iban"])  # `deptor` read
    assert row["counterparty_iban"] == party["iban"]  # money in: the payer's account
    assert (row["valuta_date"], row["valuta_date_valid"]) == ("2026-02-30", False)
    spelled = transaction_row({**sent, "deptor": None, "debtor": party}, "A1", booked=True)
    assert spelled["debtor_iban"] == party["iban"]  # and `debtor`, as a fixed API would spell it
    out = transaction_row(
        {**sent, "amount": {"value": "-1150", "unit": "EUR"}, "creditor": {"holderName": "Landlord"}},
        "A1",
        booked=True,
    )
    assert (out["direction"], out["counterparty_name"]) == ("DEBIT", "Landlord")  # money out: the creditor
    assert set(row) == set(TRANSACTION_FIELDS)
    assert set(transaction_row(sent, "A1", booked=False)) == set(PENDING_FIELDS)


def test_every_stream_gives_exactly_its_declared_columns(tmp_path: Path) -> None:
    declared = {
        "accounts": ACCOUNT_FIELDS,
        "balances": BALANCE_FIELDS,
        "transactions": TRANSACTION_FIELDS,
        "pending_transactions": PENDING_FIELDS,
    }
    with bank(tmp_path) as b:
        b.login()
        with b.connect() as client:
            for name, endpoint in ENDPOINTS.items():
                window = None if endpoint.snapshot else Window.for_day(date(2026, 10, 30))
                got = rows(endpoint.fetch(client, Extract(window)))
                assert got and all(set(r) == set(declared[name]) for r in got), name
                assert (
                    endpoint.describe is not None and dict(endpoint.describe(client, None)) == declared[name]
                )


def test_transactions_page_with_paging_first_and_count_and_match_the_bank(tmp_path: Path) -> None:
    with bank(tmp_path) as b:
        b.login()
        asked: list[dict[str, str]] = []
        handle = b.emulator.handle

        def spy(request):  # noqa: ANN001, ANN202
            if request.path.endswith("/transactions"):
                asked.append({k: v[0] for k, v in request.query.items()})
            return handle(request)

        b.emulator.handle = spy
        window = Window(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
        with b.connect() as client:
            paged = rows(transactions_endpoint(page_size=7).fetch(client, Extract(window)))
            whole = rows(ENDPOINTS["transactions"].fetch(client, Extract(window)))
    world = b.emulator.world
    expected = {
        t["reference"]
        for acc in world.account_list()
        for t in world.transactions(acc.account_id, date(2026, 9, 1), date(2026, 9, 30))
    }
    assert {r["reference"] for r in paged} == {r["reference"] for r in whole} == expected
    assert len(paged) == len(expected)
    firsts = {int(q["paging-first"]) for q in asked if q["paging-count"] == "7"}
    assert max(firsts) >= 14  # several pages of one account
    assert {q["paging-count"] for q in asked} == {"7", "500"}
    assert all(q["transactionState"] == "BOOKED" and q["max-bookingDate"] == "2026-09-30" for q in asked)


def test_a_balance_snapshot_gives_the_closing_balance_of_the_day_before(tmp_path: Path) -> None:
    with bank(tmp_path) as b:
        b.login()
        with b.connect() as client:
            (snapshot,) = list(ENDPOINTS["balances"].fetch(client, Extract(None)))
    closed = b.emulator.world.balances(date(2026, 11, 2))  # the end of the Berlin day
    assert {r["closing_date"] for r in snapshot} == {"2026-11-02"}
    assert {r["account_id"]: Decimal(r["closing_balance"]) for r in snapshot} == closed
    now = b.emulator.world.balances()
    assert {r["account_id"]: Decimal(r["balance"]) for r in snapshot} == now


# -- where sessions live ---------------------------------------------------------------------------


def test_the_bank_remembers_between_emulators_once_its_folder_exists(tmp_path: Path) -> None:
    clock = SimClock()
    folder = tmp_path / "comdirect"
    with bank(tmp_path, clock, state_dir=folder) as b:
        b.login()  # the folder does not exist yet: this bank forgets
    assert not folder.exists()
    folder.mkdir()
    with bank(tmp_path, clock, state_dir=folder) as first:
        first.clock.advance(700)  # let the old session lapse
        first.login()
    assert json.loads((folder / "bank.json").read_text())["version"] == 1
    with bank(tmp_path, clock, state_dir=folder) as second:  # another process's bank
        with second.connect() as client:
            assert rows(ENDPOINTS["accounts"].fetch(client, Extract(None)))
        second.emulator.recall()
        assert second.emulator.counters.challenges_issued == 1  # the login the first bank saw
        assert open_store(second.settings).load().access_token in second.emulator.issued_tokens()


def test_the_banks_memory_round_trips_and_forgets_tokens_ended_a_day_ago(tmp_path: Path) -> None:
    with bank(tmp_path) as b:
        b.login()
        b.clock.advance(2 * 86_400)
        b.login()
        saved = snapshot(b.emulator.desk)
    assert len(saved["issuer"]["grants"]) == 2  # the second login's two-factor and banking tokens
    assert len(saved["desk"]["logins"]) == 1 and saved["desk"]["counters"]["challenges_issued"] == 2
    again = ComdirectEmulator(clock=b.clock)
    restore(again.desk, json.loads(json.dumps(saved)))
    assert snapshot(again.desk) == saved
    assert again.desk.tokens._new_value() == b.emulator.desk.tokens._new_value()  # the same next token


def test_the_postgres_store_keeps_one_row_per_customer_and_locks_across_connections(
    postgres_database: str, tmp_path: Path
) -> None:
    with bank(tmp_path) as b:  # the production store, end to end
        b.settings = dataclasses.replace(b.settings, session_store=postgres_database)
        b.login()
        with b.connect() as client:
            assert rows(ENDPOINTS["accounts"].fetch(client, Extract(None)))
        b.clock.advance(500)
        assert due(b.record(), b.clock()) is None
        store = open_store(b.settings)
        keep_alive(b.settings, store, clock=b.clock)
        store.close()
        assert b.emulator.counters.token_refreshes == 1 and b.record().token.expires_at > b.clock() + 500

    one, other = PostgresSessionStore(postgres_database, "c1"), PostgresSessionStore(postgres_database, "c1")
    try:
        assert one.read() is None and not one.exists()
        held, waited = threading.Event(), []

        def second_refresher() -> None:
            held.wait()
            started = time.monotonic()
            with other.lock():
                waited.append(time.monotonic() - started)
                assert other.load() is not None  # it sees the pair the first one saved

        thread = threading.Thread(target=second_refresher)
        thread.start()
        with one.lock():
            held.set()
            time.sleep(0.3)
            one.save(Token("access-1", 1.0, "refresh-1"))
        thread.join(timeout=10)
        assert waited and waited[0] >= 0.25
        with one.login_lock(), pytest.raises(LoginBusy):
            with other.login_lock():
                pass
        assert PostgresSessionStore(postgres_database, "c2").read() is None  # another customer's row
    finally:
        one.close()
        other.close()
