"""The comdirect emulator, driven by hand over real HTTP on loopback, as a client will drive the bank.

Its answers are checked against comdirect's own Swagger 2.0 document (version 20.04) where the
document is right. Where live behaviour differs, the emulator follows `vendor-apis.md` and
recorded live responses, and the checks say so (see `_swagger_definitions` and the tests):

1. `POST .../sessions/{id}/validate` answers 201, the document says 200.
2. `bookingDate` is a plain date string or null and `currency` a plain string; the document has
   `DateString` / `CurrencyString` objects.
3. Counterparties, mandate fields and the end-to-end reference may be null (the document has no
   nullability at all).
4. Error messages carry specific keys (`paging.invalid`, `requestparameter.invalid`, ...) and an
   `args` map; the document allows two keys and an `args` list.
5. `valutaDate` may be an impossible date (`2026-02-30`, `2026-03-32`); the document types it a
   plain string and says so, so it validates as is.
6. The debtor field: `vendor-apis.md` says live responses spell it `debtor`, but every recorded
   live response we found (2020-2024) spells it `deptor`, as the document does; the emulator
   sends `deptor`.
7. Not in the document at all: the OAuth endpoints, the push status resource, the headers
   (`x-http-request-info`, `x-once-authentication-info`, `x-http-response-info`) and the
   parameters `paging-count`, `min-bookingDate`, `max-bookingDate`.

Time never passes for real here: token and challenge lifetimes run on an injectable clock.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import socketserver
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import jsonschema
import pytest
from openapi_spec_validator.validation import OpenAPIV2SpecValidator

from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.sources.comdirect.emulator import ComdirectEmulator, ComdirectWorld

SPEC_PATH = Path(__file__).parent / "specs" / "comdirect-swagger-20.04.json"
SPEC_SHA256 = "2ae7582efa09d5462bcd8de05f9ad9deaddcb21ecd8eaf2b960b61b18ce2ad2b"
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Berlin
START = date(2025, 7, 1)  # more than the API's default 180-day window before NOW
CLIENT = {"client_id": "sandbox-comdirect-client", "client_secret": "sandbox-comdirect-secret"}
USER = {"username": "12345678", "password": "246810"}
SESSIONS = "/api/session/clients/user/v1/sessions"
BALANCES = "/api/banking/clients/user/v2/accounts/balances"
TAN = "123456"


class Clock:
    """The emulator's clock for token and challenge lifetimes; tests move it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Teller:
    """A hand-driven client: one login's sessionId and a new 9-digit requestId per call."""

    def __init__(self, url: str, session_id: str = "c0ffee00c0ffee00c0ffee00c0ffee00"):
        self.http = httpx.Client(base_url=url)
        self.session_id = session_id
        self._request_ids = itertools.count(100_000_001)
        self.token = ""  # the current access token
        self.log_in_answer: dict[str, Any] = {}
        self.identifier = ""

    def info(self) -> dict[str, str]:
        request_id = f"{next(self._request_ids):09d}"
        return {
            "x-http-request-info": json.dumps(
                {"clientRequestId": {"sessionId": self.session_id, "requestId": request_id}}
            )
        }

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **self.info(), **extra}

    def grant(self, **form: str) -> httpx.Response:
        return self.http.post("/oauth/token", data={**CLIENT, **form})

    def log_in(self, password: str = USER["password"]) -> httpx.Response:
        response = self.grant(grant_type="password", username=USER["username"], password=password)
        if response.status_code == 200:
            self.log_in_answer = response.json()
            self.token = self.log_in_answer["access_token"]
        return response

    def session(self) -> dict[str, Any]:
        response = self.http.get(SESSIONS, headers=self.headers())
        assert response.status_code == 200, response.text
        (session,) = response.json()
        self.identifier = session["identifier"]
        return session

    def body(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "sessionTanActive": True, "activated2FA": True}

    def validate(self, typ: str | None = None) -> httpx.Response:
        extra = {"x-once-authentication-info": json.dumps({"typ": typ})} if typ else {}
        path = f"{SESSIONS}/{self.identifier}/validate"
        return self.http.post(path, headers=self.headers(**extra), json=self.body())

    def challenge(self, typ: str | None = None) -> dict[str, Any]:
        response = self.validate(typ)
        assert response.status_code == 201, response.text
        return json.loads(response.headers["x-once-authentication-info"])

    def poll(self, challenge: dict[str, Any]) -> str:
        response = self.http.get(challenge["link"]["href"], headers=self.headers())
        assert response.status_code == 200, response.text
        return response.json()["status"]

    def activate(self, challenge: dict[str, Any], tan: str | None = None) -> httpx.Response:
        extra = {"x-once-authentication-info": json.dumps({"id": challenge["id"]})}
        if tan is not None:
            extra["x-once-authentication"] = tan
        return self.http.patch(
            f"{SESSIONS}/{self.identifier}", headers=self.headers(**extra), json=self.body()
        )

    def secondary(self) -> httpx.Response:
        response = self.grant(grant_type="cd_secondary", token=self.token)
        if response.status_code == 200:
            self.token = response.json()["access_token"]
        return response

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(), params=params)

    def transactions(self, account_id: str, **params: Any) -> httpx.Response:
        return self.get(f"/api/banking/v1/accounts/{account_id}/transactions", **params)

    def bank_login(self, typ: str | None = None, tan: str | None = None) -> dict[str, Any]:
        """The whole login; returns the secondary grant's token answer."""
        assert self.log_in().status_code == 200
        self.session()
        challenge = self.challenge(typ)
        if challenge["typ"] == "P_TAN_PUSH":
            assert self.poll(challenge) == "AUTHENTICATED"
        assert self.activate(challenge, tan).status_code == 200
        response = self.secondary()
        assert response.status_code == 200, response.text
        return response.json()


Bank = tuple[ComdirectEmulator, Teller, Clock]


@pytest.fixture
def bank(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Bank]]:
    """Start an emulator (with its own clock) and a client for it; stopped after the test."""
    # The kit's server writes a response's headers and body in two sends; with Nagle's algorithm
    # and the client's delayed ACK each answer then waits 40 ms on loopback. Turning Nagle off
    # for the test's handlers (a stdlib switch) keeps the module at a few seconds.
    monkeypatch.setattr(socketserver.StreamRequestHandler, "disable_nagle_algorithm", True)
    running: list[tuple[EmulatorServer, Teller]] = []

    def start(**kwargs: Any) -> Bank:
        clock = Clock()
        kwargs.setdefault("rate_limit", None)
        world = ComdirectWorld(start_date=START, now=NOW)
        emulator = ComdirectEmulator(world, clock=clock, **kwargs)
        server = EmulatorServer(emulator).start()
        teller = Teller(server.url)
        running.append((server, teller))
        return emulator, teller, clock

    yield start
    for server, teller in running:
        teller.http.close()
        server.stop()


def business(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The API's error: status, code, and the messages mirrored in `x-http-response-info`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    mirrored = json.loads(unquote(response.headers["x-http-response-info"]))
    assert mirrored == {"messages": body["messages"]}
    return body["messages"][0]


def oauth(response: httpx.Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    return response.json()["error_description"]


# -- comdirect's Swagger document as a validator ------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


NULLABLE = ("bookingDate", "remitter", "deptor", "creditor", "directDebitCreditorId", "directDebitMandateId")


def _swagger_definitions(spec: dict[str, Any]) -> dict[str, Any]:
    """The document's definitions as draft-4 JSON Schema, with live behaviour made explicit
    (numbers refer to the module docstring)."""
    definitions = copy.deepcopy(spec["definitions"])
    transaction = definitions["AccountTransaction"]["properties"]
    transaction["bookingDate"] = {"type": "string", "format": "date"}  # 2.
    definitions["Account"]["properties"]["currency"] = {
        "type": "string",
        "minLength": 3,
        "maxLength": 3,
    }  # 2.
    for name in (*NULLABLE, "endToEndReference"):  # 3.
        transaction[name] = {"anyOf": [{"type": "null"}, transaction[name]]}
    message = definitions["BusinessMessage"]["properties"]  # 4.
    message["key"].pop("enum")
    message["args"] = {"type": "object"}
    return definitions


@pytest.fixture(scope="module")
def validator_for(spec: dict[str, Any]) -> Callable[[dict[str, Any]], jsonschema.Draft4Validator]:
    definitions = _swagger_definitions(spec)

    def build(schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        return jsonschema.Draft4Validator(
            {"definitions": definitions, "allOf": [schema]}, format_checker=jsonschema.FormatChecker()
        )

    return build


@pytest.fixture(scope="module")
def conforms(spec: dict[str, Any], validator_for: Any) -> Callable[..., None]:
    """`conforms(path, method, body, status="200")`: the body matches the document's schema."""

    def check(path: str, method: str, body: Any, status: str = "200") -> None:
        schema = spec["paths"][path][method]["responses"][status]["schema"]
        errors = sorted(validator_for(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message[:160]}" for e in errors[:5])

    return check


def error_conforms(validator_for: Any, response: httpx.Response) -> None:
    validator = validator_for({"$ref": "#/definitions/StandardErrorResponse"})
    assert not list(validator.iter_errors(response.json()))


def test_the_spec_is_copied_byte_for_byte_and_is_swagger_2_but_for_its_own_grant_flow(
    spec: dict[str, Any],
) -> None:
    raw = SPEC_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SPEC_SHA256 and b"\r\n" in raw
    # The one problem: the `cd_secondary` flow of its OAuth scheme is comdirect's own.
    problems = [str(e) for e in OpenAPIV2SpecValidator(spec).iter_errors()]
    assert len(problems) == 1 and "cd_secondary" in problems[0]


# -- the whole login, by hand ---------------------------------------------------------------------


def test_push_login_then_balances_and_paged_transactions_match_the_document(
    bank: Callable[..., Bank], conforms: Callable[..., None]
) -> None:
    emulator, teller, _ = bank()
    first = teller.log_in().json()
    assert first["token_type"] == "bearer" and first["expires_in"] == 599 and first["scope"] == "TWO_FACTOR"
    assert {"refresh_token", "kdnr", "bpid", "kontaktId"} <= set(first)

    session = teller.session()
    conforms("/session/clients/{user}/v1/sessions", "get", [session])
    assert session == {"identifier": teller.identifier, "sessionTanActive": False, "activated2FA": False}

    validated = teller.validate("P_TAN_PUSH")
    assert validated.status_code == 201  # 1. the document says 200
    conforms("/session/clients/{user}/v1/sessions/{session}/validate", "post", validated.json())
    challenge = json.loads(validated.headers["x-once-authentication-info"])
    assert challenge["typ"] == "P_TAN_PUSH" and "challenge" not in challenge
    assert challenge["availableTypes"] == ["P_TAN_PUSH", "P_TAN", "M_TAN"] and len(challenge["id"]) == 9
    assert challenge["link"]["method"] == "GET"
    assert challenge["link"]["href"].startswith("/api/session/v1/authentications/")
    assert teller.poll(challenge) == "AUTHENTICATED"

    activated = teller.activate(challenge)  # push: no x-once-authentication
    assert activated.status_code == 200
    conforms("/session/clients/{user}/v1/sessions/{session}", "patch", activated.json())
    assert teller.session()["sessionTanActive"] is True

    banking = teller.secondary().json()
    assert "BANKING_RO" in banking["scope"].split() and banking["expires_in"] == 599

    balances = teller.get(BALANCES)
    assert balances.status_code == 200
    conforms("/banking/clients/{user}/v2/accounts/balances", "get", balances.json())
    keys = [value["account"]["accountType"]["key"] for value in balances.json()["values"]]
    assert keys == ["CA", "DAS", "SA"]

    for account in emulator.world.accounts():
        account_id, pages, first_index = account["accountId"], [], 0
        while True:
            page = teller.transactions(
                account_id,
                transactionState="BOOKED",
                **{"paging-first": first_index, "paging-count": 100, "min-bookingDate": START.isoformat()},
            )
            assert page.status_code == 200, page.text
            conforms("/banking/v1/accounts/{accountId}/transactions", "get", page.json())
            pages.append(page.json())
            values, matches = page.json()["values"], page.json()["paging"]["matches"]
            if first_index + len(values) >= matches:  # the last page
                assert page.json()["aggregated"]["latestTransactionIncluded"] is True
                break
            assert page.json()["aggregated"]["latestTransactionIncluded"] is False
            first_index += len(values)
        fetched = [value["reference"] for page_body in pages for value in page_body["values"]]
        assert fetched == [t["reference"] for t in emulator.world.transactions(account_id)]
        assert len(set(fetched)) == len(fetched)
    counters = emulator.counters
    assert (counters.login_attempts, counters.challenges_issued, counters.activations) == (1, 1, 1)
    assert (counters.secondary_grants, counters.wrong_tans, counters.locks) == (1, 0, 0)


@pytest.mark.parametrize(
    ("push", "status", "patched", "code"),
    [
        ("deny", "DENIED", 400, "TAN_UNGUELTIG"),
        ("expire", "EXPIRED", 422, "expired"),
        ("never", "PENDING", 400, "TAN_UNGUELTIG"),
    ],
)
def test_a_push_that_is_not_approved_never_activates_the_session(
    bank: Callable[..., Bank], push: str, status: str, patched: int, code: str
) -> None:
    emulator, teller, clock = bank(push=push)
    teller.log_in()
    teller.session()
    challenge = teller.challenge()
    clock.advance(590)  # past a challenge's lifetime: `never` stays pending all the same
    assert teller.poll(challenge) == status
    business(teller.activate(challenge), patched, code)
    assert oauth(teller.secondary(), 401, "invalid_grant") == "Session-TAN ist nicht aktiviert"
    # PATCHing an unapproved push counts as a wrong TAN; an expired challenge does not.
    assert emulator.counters.wrong_tans == (0 if push == "expire" else 1)


def test_a_push_resolves_after_the_delay_or_by_hand(bank: Callable[..., Bank]) -> None:
    _, teller, clock = bank(push="approve", push_delay_seconds=5)
    teller.log_in()
    teller.session()
    challenge = teller.challenge()
    assert teller.poll(challenge) == "PENDING"
    message = business(teller.activate(challenge), 400, "TAN_UNGUELTIG")
    assert (message["key"], message["severity"]) == ("PUSHTAN_ANGEFORDERT", "INFO")
    clock.advance(5)
    assert teller.poll(challenge) == "AUTHENTICATED"
    assert teller.activate(challenge).status_code == 200

    manual, teller, _ = bank(push="manual")
    teller.log_in()
    teller.session()
    challenge = teller.challenge()
    assert teller.poll(challenge) == "PENDING"
    manual.approve()
    assert teller.poll(challenge) == "AUTHENTICATED"
    with pytest.raises(LookupError):
        manual.deny()  # nothing is pending any more


def test_photo_tan_and_sms_tan_activate_with_the_tan(bank: Callable[..., Bank]) -> None:
    _, teller, _ = bank()
    teller.log_in()
    teller.session()
    photo = teller.challenge("P_TAN")
    assert base64.b64decode(photo["challenge"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert teller.activate(photo, TAN).status_code == 200

    _, teller, _ = bank(tan_types=("M_TAN",))
    teller.log_in()
    teller.session()
    sms = teller.challenge()  # without a type: the customer's preferred one
    assert sms["typ"] == "M_TAN" and sms["availableTypes"] == ["M_TAN"] and "*" in sms["challenge"]
    business(teller.validate("P_TAN"), 422, "UNPROCESSABLE_ONCE_AUTHENTICATION_INFO_HEADER")
    assert teller.activate(sms, TAN).status_code == 200
    business(teller.validate(), 422, "request.object.invalid")  # active already: no new challenge

    _, teller, clock = bank()
    teller.log_in()
    teller.session()
    late = teller.challenge("P_TAN")
    clock.advance(300)  # challenges expire after five minutes
    business(teller.activate(late, TAN), 422, "expired")


def test_three_wrong_tans_lock_online_banking(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    teller.log_in()
    teller.session()
    challenge = teller.challenge("P_TAN")
    business(teller.activate(challenge, "000000"), 400, "TAN_UNGUELTIG")
    business(teller.activate(challenge), 400, "TAN_UNGUELTIG")  # no TAN at all counts too
    assert not emulator.locked
    business(teller.activate(challenge, "111111"), 422, "ZUGANG_GESPERRT")
    assert emulator.locked and emulator.counters.wrong_tans == 3 and emulator.counters.locks == 1
    assert oauth(teller.get(SESSIONS), 401, "invalid_token")  # the lock ended the login
    assert oauth(teller.log_in(), 401, "invalid_grant") == "Zugang gesperrt"

    emulator.unlock()  # as the bank's hotline would
    assert teller.bank_login("P_TAN", TAN)["access_token"]


def test_a_correct_tan_resets_the_wrong_tan_count(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    for _ in range(2):
        teller.log_in()
        teller.session()
        challenge = teller.challenge("P_TAN")
        business(teller.activate(challenge, "000000"), 400, "TAN_UNGUELTIG")
        business(teller.activate(challenge, "000001"), 400, "TAN_UNGUELTIG")
        assert teller.activate(challenge, TAN).status_code == 200
    assert not emulator.locked and emulator.counters.wrong_tans == 4


def test_five_challenges_without_an_activation_lock_online_banking(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank(push="never")
    teller.log_in()
    teller.session()
    issued = [teller.challenge(typ) for typ in ("P_TAN_PUSH", "P_TAN", "M_TAN")]  # switching type
    business(teller.activate(issued[0]), 422, "expired")  # replaced by the newer ones
    teller.log_in()  # a new login does not reset the count
    teller.session()
    issued.append(teller.challenge())
    assert not emulator.locked and emulator.counters.challenges_issued == 4
    business(teller.validate(), 422, "ZUGANG_GESPERRT")  # the fifth request locks
    assert emulator.locked and emulator.counters.challenges_issued == 4
    assert oauth(teller.validate(), 401, "invalid_token")  # the lock ended every login
    assert oauth(teller.log_in(), 401, "invalid_grant") == "Zugang gesperrt"


def test_an_activation_resets_the_challenge_count(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    for _ in range(3):
        teller.log_in()
        teller.session()
        for _ in range(3):
            challenge = teller.challenge("P_TAN")
        assert teller.activate(challenge, TAN).status_code == 200
    assert not emulator.locked and emulator.counters.challenges_issued == 9


def test_three_wrong_pins_lock_online_banking(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    assert oauth(teller.log_in("000000"), 401, "invalid_grant") == "Bad credentials"
    assert oauth(teller.log_in("000001"), 401, "invalid_grant") == "Bad credentials"
    assert oauth(teller.log_in("000002"), 401, "invalid_grant") == "Zugang gesperrt"
    assert oauth(teller.log_in(), 401, "invalid_grant") == "Zugang gesperrt"
    assert emulator.counters.login_attempts == 4 and emulator.counters.failed_logins == 3
    assert oauth(teller.grant(grant_type="password", **USER, client_secret="nope"), 401, "invalid_client")


# -- tokens: scopes, rotation, lifetime, revocation ----------------------------------------------


def test_a_two_factor_token_cannot_bank_and_cannot_be_exchanged_before_activation(
    bank: Callable[..., Bank],
) -> None:
    _, teller, _ = bank()
    teller.log_in()
    teller.session()
    assert oauth(teller.get(BALANCES), 403, "insufficient_scope")
    assert oauth(teller.secondary(), 401, "invalid_grant") == "Session-TAN ist nicht aktiviert"
    two_factor, two_factor_refresh = teller.token, teller.log_in_answer["refresh_token"]
    challenge = teller.challenge()
    teller.activate(challenge)
    assert teller.secondary().status_code == 200
    old_chain = teller.grant(grant_type="refresh_token", refresh_token=two_factor_refresh)
    assert oauth(old_chain, 401, "invalid_grant") == "Invalid refresh token"
    assert teller.get(BALANCES).status_code == 200  # which leaves the banking session alone
    # The TWO_FACTOR token was exchanged: it ends, and cannot be exchanged twice.
    assert oauth(teller.http.get(SESSIONS, headers=teller.headers(two_factor)), 401, "invalid_token")
    assert oauth(teller.grant(grant_type="cd_secondary", token=two_factor), 401, "invalid_grant")


def test_a_refresh_rotates_the_pair_and_keeps_the_session_alive(bank: Callable[..., Bank]) -> None:
    emulator, teller, clock = bank()
    pair = teller.bank_login()
    for _ in range(6):  # fifty minutes of scheduled runs, refreshing every 500 s
        clock.advance(500)
        fresh = teller.grant(grant_type="refresh_token", refresh_token=pair["refresh_token"])
        assert fresh.status_code == 200
        new = fresh.json()
        assert new["access_token"] != pair["access_token"] and new["refresh_token"] != pair["refresh_token"]
        assert "BANKING_RO" in new["scope"].split()
        stale = teller.grant(grant_type="refresh_token", refresh_token=pair["refresh_token"])
        assert oauth(stale, 401, "invalid_grant") == "Invalid refresh token"
        assert pair["refresh_token"] not in stale.text and pair["access_token"] not in stale.text
        assert oauth(
            teller.http.get(BALANCES, headers=teller.headers(pair["access_token"])), 401, "invalid_token"
        )
        pair, teller.token = new, new["access_token"]
        assert teller.get(BALANCES).status_code == 200
    assert teller.session()["sessionTanActive"] is True
    assert emulator.counters.token_refreshes == 6

    clock.advance(599)  # the chain lapses: the session and its TAN are gone
    assert oauth(teller.get(BALANCES), 401, "invalid_token")
    assert oauth(
        teller.grant(grant_type="refresh_token", refresh_token=pair["refresh_token"]), 401, "invalid_grant"
    )
    teller.log_in()
    assert teller.session()["sessionTanActive"] is False


def test_revoke_ends_the_tokens_and_the_session(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    pair = teller.bank_login()
    revoked = teller.http.delete("/oauth/revoke", headers={"Authorization": f"Bearer {teller.token}"})
    assert revoked.status_code == 204 and revoked.content == b""
    assert oauth(teller.get(BALANCES), 401, "invalid_token")
    assert oauth(
        teller.grant(grant_type="refresh_token", refresh_token=pair["refresh_token"]), 401, "invalid_grant"
    )
    again = teller.http.delete("/oauth/revoke", headers={"Authorization": f"Bearer {teller.token}"})
    assert oauth(again, 401, "invalid_token")
    assert emulator.counters.revocations == 1


def test_x_http_request_info_is_required_and_checked(bank: Callable[..., Bank], validator_for: Any) -> None:
    _, teller, _ = bank()
    teller.log_in()
    bearer = {"Authorization": f"Bearer {teller.token}"}

    def request_info(session_id: str, request_id: str) -> dict[str, str]:
        value = {"clientRequestId": {"sessionId": session_id, "requestId": request_id}}
        return {**bearer, "x-http-request-info": json.dumps(value)}

    missing = teller.http.get(SESSIONS, headers=bearer)
    assert business(missing, 400, "request.header.invalid")["origin"] == ["x-http-request-info"]
    error_conforms(validator_for, missing)
    for session_id, request_id in [
        ("c0ffee", "12345678"),  # requestId of 8 digits
        ("c0ffee", "12345678a"),
        ("c0ffee-0000-0000", "123456789"),  # a dashed GUID is no hex string
        ("c0ffee" * 6, "123456789"),  # more than 32 hex digits
    ]:
        business(
            teller.http.get(SESSIONS, headers=request_info(session_id, request_id)),
            400,
            "request.header.invalid",
        )
    assert teller.http.get(SESSIONS, headers=request_info("c0ffee", "123456789")).status_code == 200
    repeated = teller.http.get(SESSIONS, headers=request_info("c0ffee", "123456789"))
    assert business(repeated, 400, "request.header.invalid")["key"] == "requestId.invalid"
    switched = teller.http.get(SESSIONS, headers=request_info("beef", "223456789"))
    assert business(switched, 400, "request.header.invalid")["key"] == "sessionId.invalid"


def test_patch_wants_only_the_challenge_id(bank: Callable[..., Bank]) -> None:
    _, teller, _ = bank()
    teller.log_in()
    teller.session()
    response = teller.validate()
    whole_header = {"x-once-authentication-info": response.headers["x-once-authentication-info"]}
    path = f"{SESSIONS}/{teller.identifier}"
    sent_back = teller.http.patch(path, headers=teller.headers(**whole_header), json=teller.body())
    business(sent_back, 422, "UNPROCESSABLE_ONCE_AUTHENTICATION_INFO_HEADER")
    wrong_body = teller.http.patch(path, headers=teller.headers(), json={"identifier": teller.identifier})
    assert business(wrong_body, 422, "request.object.invalid")["origin"] == [
        "sessionTanActive",
        "activated2FA",
    ]
    assert teller.http.get("/api/session/v1/authentications/0", headers=teller.headers()).status_code == 404


# -- banking ---------------------------------------------------------------------------------------


def test_paging_errors_are_422_with_german_messages_in_body_and_header(
    bank: Callable[..., Bank], validator_for: Any
) -> None:
    emulator, teller, _ = bank()
    teller.bank_login()
    account_id = emulator.world.accounts()[0]["accountId"]
    too_many = teller.transactions(account_id, **{"paging-count": 501})
    message = business(too_many, 422, "request.query.invalid")
    assert message["key"] == "paging.invalid" and message["origin"] == ["paging-count"]
    assert message["args"] == {"0": "paging-count", "1": 501} and "ungültig" in message["message"]
    error_conforms(validator_for, too_many)
    for state in ({}, {"transactionState": "BOTH"}, {"transactionState": "NOTBOOKED"}):
        not_booked = teller.transactions(account_id, **state, **{"paging-first": 20})
        message = business(not_booked, 422, "request.query.invalid")
        assert message["key"] == "requestparameter.invalid" and message["origin"] == ["transactionState"]
    wrong_state = teller.transactions(account_id, transactionState="ALL")
    assert business(wrong_state, 422, "request.query.invalid")["key"] == "bookingStatus.invalid"
    wrong_date = teller.transactions(account_id, **{"min-bookingDate": "2026-02-30"})
    assert business(wrong_date, 422, "request.query.invalid")["origin"] == ["min-bookingDate"]
    unknown = teller.transactions("0" * 32)
    assert (
        unknown.status_code == 404
        and unknown.content == b""
        and "x-http-response-info" not in unknown.headers
    )


def test_without_a_booking_date_the_api_looks_back_180_days(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    teller.bank_login()
    account_id = emulator.world.accounts()[0]["accountId"]
    default = teller.transactions(account_id, transactionState="BOOKED", **{"paging-count": 500}).json()
    cutoff = NOW.date() - timedelta(days=180)
    dates = [value["bookingDate"] for value in default["values"]]
    assert min(dates) == cutoff.isoformat() and len(dates) == default["paging"]["matches"]
    assert default["paging"]["matches"] == len(emulator.world.transactions(account_id, cutoff))
    assert default["values"] == emulator.world.transactions(account_id, cutoff)
    window = {"min-bookingDate": "2025-07-01", "max-bookingDate": "2025-07-31", "paging-count": 500}
    july = teller.transactions(account_id, transactionState="BOOKED", **window).json()
    assert (
        july["values"][-1]["bookingDate"] >= "2025-07-01" and july["values"][0]["bookingDate"] <= "2025-07-31"
    )
    assert july["values"] == emulator.world.transactions(account_id, date(2025, 7, 1), date(2025, 7, 31))
    # Pre-bookings have no booking date, so booking-date bounds do not hold them back.
    july_both = teller.transactions(account_id, **window).json()
    pending = emulator.world.pending(account_id)
    assert july_both["values"] == pending + july["values"]
    first_page = teller.transactions(account_id).json()
    assert first_page["paging"]["index"] == 0 and len(first_page["values"]) == 20  # the default page


def test_pre_bookings_have_no_booking_date_and_become_bookings(
    bank: Callable[..., Bank], conforms: Callable[..., None]
) -> None:
    emulator, teller, _ = bank()
    teller.bank_login()
    account_id = emulator.world.accounts()[0]["accountId"]
    pending = teller.transactions(account_id, transactionState="NOTBOOKED").json()
    conforms("/banking/v1/accounts/{accountId}/transactions", "get", pending)
    assert pending["values"] and pending["values"] == emulator.world.pending(account_id)
    for value in pending["values"]:
        assert value["bookingStatus"] == "NOTBOOKED" and value["bookingDate"] is None
        assert len(value["remittanceInfo"]) % 35 == 0 and not value["remittanceInfo"].startswith("01")
    both = teller.transactions(account_id, **{"paging-count": 500}).json()
    assert both["values"][: len(pending["values"])] == pending["values"]  # pre-bookings first
    booked = [v for v in both["values"] if v["bookingStatus"] == "BOOKED"]
    assert all(len(v["remittanceInfo"]) % 37 == 0 and v["remittanceInfo"][:2] == "01" for v in booked)

    later = ComdirectWorld(start_date=START, now=NOW + timedelta(days=4))

    def sameness(value: dict[str, Any]) -> tuple[str, str, str]:
        info = value["remittanceInfo"]
        first_line = info[2:37] if value["bookingStatus"] == "BOOKED" else info[:35]
        return value["amount"]["value"], value["valutaDate"], first_line

    then = {sameness(v): v for v in later.transactions(account_id)}
    for value in pending["values"]:
        booked_later = then[sameness(value)]
        assert (
            booked_later["bookingStatus"] == "BOOKED"
            and booked_later["bookingDate"] >= NOW.date().isoformat()
        )
        assert booked_later["reference"] != value["reference"]  # a key only once booked


def test_balances_reconcile_with_the_booked_transactions(bank: Callable[..., Bank]) -> None:
    emulator, teller, _ = bank()
    teller.bank_login()
    world = emulator.world
    for value in teller.get(BALANCES).json()["values"]:
        account_id = value["accountId"]
        booked = teller.transactions(
            account_id,
            transactionState="BOOKED",
            **{"min-bookingDate": START.isoformat(), "paging-count": 500},
        ).json()
        assert booked["paging"]["matches"] <= 500
        total = sum(Decimal(v["amount"]["value"]) for v in booked["values"])
        balance = Decimal(value["balance"]["value"])
        assert balance == world.opening_balance(account_id) + total == world.balances()[account_id]
        pending = teller.transactions(account_id, transactionState="NOTBOOKED").json()["values"]
        outgoing = sum(Decimal(v["amount"]["value"]) for v in pending if v["amount"]["value"].startswith("-"))
        limit = Decimal(value["account"]["creditLimit"]["value"])
        assert Decimal(value["availableCashAmount"]["value"]) == balance + limit + outgoing
        single = teller.get(f"/api/banking/v2/accounts/{account_id}/balances", **{"without-attr": "account"})
        assert "account" not in single.json() and single.json()["balance"] == value["balance"]
    # The balance on day D is the opening balance plus every booking dated up to D.
    day = date(2026, 2, 28)
    for account_id, balance in world.balances(day).items():
        dated = world.transactions(account_id, booked_to=day)
        assert balance == world.opening_balance(account_id) + sum(
            Decimal(v["amount"]["value"]) for v in dated
        )


def test_value_dates_may_be_impossible(conforms: Callable[..., None]) -> None:
    world = ComdirectWorld(start_date=START, now=NOW)
    giro, savings, _ = (account["accountId"] for account in world.accounts())
    valuta = {v["valutaDate"] for v in world.transactions(savings)} | {
        v["valutaDate"] for v in world.transactions(giro)
    }
    assert {"2026-02-30", "2025-09-31", "2025-12-32"} <= valuta  # 30/360 interest, quarter closings
    page = {"paging": {"index": 0, "matches": 1}, "aggregated": {}, "values": world.transactions(savings)}
    conforms("/banking/v1/accounts/{accountId}/transactions", "get", page)  # 5. a plain string
    debits = [v for v in world.transactions(giro) if v["transactionType"]["key"] == "DIRECT_DEBIT"]
    assert all(v["directDebitCreditorId"] and v["directDebitMandateId"] for v in debits)
    assert all("deptor" in v and "debtor" not in v for v in debits)  # 6.


def test_more_than_ten_requests_a_second_are_throttled(bank: Callable[..., Bank], validator_for: Any) -> None:
    _, teller, _ = bank(rate_limit=10)
    responses = [teller.http.get(SESSIONS) for _ in range(15)]  # well within a second on loopback
    throttled = [r for r in responses if r.status_code == 429]
    assert len(throttled) >= 5 and throttled[0].headers["Retry-After"] == "1"
    error_conforms(validator_for, throttled[0])


def test_the_world_and_the_login_are_deterministic(bank: Callable[..., Bank]) -> None:
    one, other = ComdirectWorld(start_date=START, now=NOW), ComdirectWorld(start_date=START, now=NOW)
    assert one.accounts() == other.accounts()
    for account in one.accounts():
        assert one.transactions(account["accountId"]) == other.transactions(account["accountId"])
        assert one.pending(account["accountId"]) == other.pending(account["accountId"])
    reseeded = ComdirectWorld(seed=4, start_date=START, now=NOW)
    assert reseeded.accounts() != one.accounts()
    logins = []
    for _ in range(2):
        _, teller, _ = bank()
        pair = teller.bank_login()
        logins.append((teller.identifier, pair["access_token"], pair["refresh_token"]))
    assert logins[0] == logins[1]
