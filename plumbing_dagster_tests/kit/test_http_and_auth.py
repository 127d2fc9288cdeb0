"""The kit's retry policy, error scrubbing, auth helpers and connection settings, each once."""

from __future__ import annotations

import multiprocessing
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from plumbing_dagster.kit import (
    ApiClient,
    ApiError,
    ClientCredentials,
    ConnectionError_,
    ConnectionSettings,
    RetryPolicy,
    RotatingTokens,
    Scrubber,
    SessionExpired,
    bearer,
    setting,
)
from plumbing_dagster.kit.auth import Token, TokenEndpoint
from plumbing_dagster.kit.emulator import EmulatorServer, Fault, TokenIssuer
from plumbing_dagster.kit.http import parse_retry_after
from plumbing_dagster.kit.tls import tls_context
from plumbing_dagster.kit.token_store import FileTokenStore
from plumbing_dagster_tests.kit.apps import CLIENT_ID, CLIENT_SECRET, RECORDS, OAuthApp, PagedApp

FAST = RetryPolicy(attempts=4, base_delay=0.01)


# -- TLS ---------------------------------------------------------------------------------------------


def test_vendor_clients_share_one_verifying_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    tls_context()  # the process's context, trust store loaded
    loads: list[object] = []
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda self, *a, **k: loads.append(a))
    for _ in range(3):
        ApiClient("shop", "https://shop.example").close()
    assert loads == []  # httpx alone would load the CA bundle once per client
    assert tls_context().verify_mode == ssl.CERT_REQUIRED
    assert tls_context().check_hostname


# -- retries -------------------------------------------------------------------------------------


def test_429_and_5xx_are_retried_and_retry_after_is_waited_out() -> None:
    waits: list[float] = []
    with (
        EmulatorServer(PagedApp()) as server,
        ApiClient("kit", server.url, retry=FAST, sleep=waits.append) as api,
    ):
        server.faults.add(Fault("rate_limit", times=1, retry_after=2.5))
        server.faults.add(Fault("server_error", times=2, status=503))
        assert api.get_json("/pages")["total"] == len(RECORDS)
    assert waits[0] == 2.5  # Retry-After wins over the backoff
    assert len(waits) == 3 and all(w <= FAST.base_delay * 4 for w in waits[1:])


def test_a_4xx_is_final_and_the_error_names_the_request_without_query_or_secret() -> None:
    app = PagedApp()
    secret = "tok-3c1d-secret"
    with (
        EmulatorServer(app) as server,
        ApiClient("kit", server.url, retry=FAST, scrub=Scrubber([secret])) as api,
    ):
        with pytest.raises(ApiError) as raised:
            api.get_json("/pages", params={"page": "0", "token": secret}, where="page 0")
        url = server.url
    error = raised.value
    assert error.status == 400 and not error.retryable
    assert str(error).startswith(f"kit: GET {url}/pages (page 0) failed with HTTP 400")
    assert secret not in str(error) and "token=" not in str(error)
    assert app.requests["pages"] == 1


def test_an_error_body_echoing_a_secret_is_scrubbed() -> None:
    secret = "s3cr3t-echo-7a"

    class Echo:
        def handle(self, request):  # noqa: ANN001, ANN202 - a tiny app
            from plumbing_dagster.kit.emulator import EmulatorResponse

            return EmulatorResponse.of_json(
                {"error": f"bad key {request.header('authorization')}"}, status=401
            )

    with EmulatorServer(Echo()) as server:
        scrub = Scrubber()
        with (
            ApiClient("kit", server.url, auth=bearer(secret, scrub), scrub=scrub) as api,
            pytest.raises(ApiError) as raised,
        ):
            api.get_json("/")
    assert "bad key ***" in str(raised.value) and secret not in str(raised.value)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < (parse_retry_after(later) or 0) <= 30


# -- OAuth client credentials --------------------------------------------------------------------


@pytest.fixture
def oauth() -> Iterator[tuple[OAuthApp, EmulatorServer, list[float]]]:
    clock = [1_000_000.0]
    app = OAuthApp(TokenIssuer("kit", 1, lifetime=600, clock=lambda: clock[0]))
    with EmulatorServer(app) as server:
        yield app, server, clock


def test_client_credentials_fetch_once_renew_before_expiry_and_after_a_401(oauth) -> None:
    app, server, clock = oauth
    scrub = Scrubber()
    auth = ClientCredentials(
        "kit", f"{server.url}/token", CLIENT_ID, CLIENT_SECRET, scrub=scrub, clock=lambda: clock[0]
    )
    with ApiClient("kit", server.url, auth=auth, scrub=scrub) as api:
        api.get_json("/pages")
        api.get_json("/pages")
        assert app.token_requests == 1
        clock[0] += 600 - 30  # within the renewal margin: renewed before use
        api.get_json("/pages")
        assert app.token_requests == 2
        app.issuer.expire_all()  # revoked server-side: one 401, renewed, retried
        api.get_json("/pages")
        assert app.token_requests == 3
    auth.close()


def test_a_401_the_predicate_does_not_accept_is_not_renewed(oauth) -> None:
    app, server, clock = oauth
    auth = ClientCredentials(
        "kit", f"{server.url}/token", CLIENT_ID, CLIENT_SECRET, scrub=Scrubber(), renewable=lambda r: False
    )
    with httpx.Client(base_url=server.url, auth=auth) as http:
        http.get("/pages")
        app.issuer.expire_all()
        assert http.get("/pages").status_code == 401
    assert app.token_requests == 1
    auth.close()


def test_wrong_client_credentials_fail_with_the_oauth_error_and_no_secret(oauth) -> None:
    _, server, _ = oauth
    scrub = Scrubber()
    auth = ClientCredentials(
        "kit", f"{server.url}/token", CLIENT_ID, "wrong-secret-55", scrub=scrub, retry=FAST
    )
    with ApiClient("kit", server.url, auth=auth, scrub=scrub) as api, pytest.raises(ApiError) as raised:
        api.get_json("/pages")
    assert "/token failed with HTTP 401: invalid_client" in str(raised.value)
    assert "wrong-secret-55" not in str(raised.value) and CLIENT_ID not in str(raised.value)


# -- refresh-token rotation ----------------------------------------------------------------------


def _refresh_form(token: Token) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": token.refresh_token or "",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


def rotating(url: str, store_path: Path) -> RotatingTokens:
    endpoint = TokenEndpoint("kit", f"{url}/token", scrub=Scrubber(), clock=time.time)
    return RotatingTokens(
        endpoint, FileTokenStore(store_path), refresh_form=_refresh_form, expired_message="log in again"
    )


def _first_pair(url: str, store_path: Path) -> Token:
    endpoint = TokenEndpoint(
        "kit", f"{url}/token", scrub=Scrubber(), basic_auth=(CLIENT_ID, CLIENT_SECRET), clock=time.time
    )
    token = endpoint.post({"grant_type": "client_credentials"})
    FileTokenStore(store_path).save(token)
    return token


@pytest.fixture
def rotation() -> Iterator[tuple[OAuthApp, EmulatorServer]]:
    app = OAuthApp(TokenIssuer("kit", 2, lifetime=600))
    with EmulatorServer(app) as server:
        yield app, server


def test_a_pair_near_expiry_is_refreshed_saved_first_and_the_old_one_dies(rotation, tmp_path: Path) -> None:
    app, server = rotation
    store = tmp_path / "tokens.json"
    first = _first_pair(server.url, store)
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    auth = rotating(server.url, store)
    auth.margin = 601  # every stored pair counts as near expiry
    with httpx.Client(base_url=server.url, auth=auth) as http:
        assert http.get("/pages").status_code == 200
    saved = FileTokenStore(store).load()
    assert saved is not None and saved.access_token != first.access_token
    assert app.issuer.check(first.access_token) == "expired"  # rotation ended the old pair
    assert app.issuer.rotate(first.refresh_token or "") is None  # and its refresh token


def test_a_lapsed_chain_raises_session_expired_and_asks_for_nothing(rotation, tmp_path: Path) -> None:
    app, server = rotation
    store = tmp_path / "tokens.json"
    first = _first_pair(server.url, store)
    FileTokenStore(store).save(Token(first.access_token, time.time() - 1, first.refresh_token))
    before = app.token_requests
    with pytest.raises(SessionExpired, match="log in again"):
        rotating(server.url, store).current()
    assert app.token_requests == before
    with pytest.raises(SessionExpired, match="log in again"):
        rotating(server.url, tmp_path / "nothing.json").current()


def test_two_processes_refreshing_at_once_refresh_once_and_share_the_pair(rotation, tmp_path: Path) -> None:
    app, server = rotation
    store = tmp_path / "tokens.json"
    _first_pair(server.url, store)
    # A stored pair 30 s from expiry: both children want to refresh it; the one that gets the lock
    # second finds the first one's fresh pair and uses it.
    saved = FileTokenStore(store).load()
    assert saved is not None
    FileTokenStore(store).save(Token(saved.access_token, time.time() + 30, saved.refresh_token))
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    children = [
        context.Process(target=_refresh_child_default, args=(server.url, str(store), results))
        for _ in range(2)
    ]
    before = app.token_requests
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
    tokens = {results.get(timeout=5) for _ in children}
    assert app.token_requests - before == 1  # one refresh
    assert len(tokens) == 1  # both use the new pair
    (token,) = tokens
    assert app.issuer.check(token) is None


def _refresh_child_default(url: str, store: str, results) -> None:  # noqa: ANN001 - a multiprocessing queue
    results.put(rotating(url, Path(store)).current().access_token)


# -- connection settings -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, repr=False)
class ExampleConnection(ConnectionSettings):
    vendor = "example"
    base_url: str = setting(env="EXAMPLE_URL")
    token: str = setting(env="EXAMPLE_TOKEN", secret=True)
    region: str | None = setting(env="EXAMPLE_REGION", default=None)


def test_settings_name_missing_variables_hide_secrets_and_refuse_unknown_keys() -> None:
    with pytest.raises(ConnectionError_, match="example: EXAMPLE_TOKEN not set"):
        ExampleConnection.from_values({"base_url": "https://x", "token": ""})
    with pytest.raises(ConnectionError_, match="unknown connection setting"):
        ExampleConnection.from_values({"base_url": "https://x", "token": "t0k3n-v4l", "tokn": "typo"})
    settings = ExampleConnection.from_values({"base_url": "https://x", "token": "t0k3n-v4l"})
    assert "t0k3n-v4l" not in repr(settings) and "base_url='https://x'" in repr(settings)
    assert settings.secrets() == ["t0k3n-v4l"] and settings.region is None
    assert ExampleConnection.env_vars() == {
        "base_url": "EXAMPLE_URL",
        "token": "EXAMPLE_TOKEN",
        "region": "EXAMPLE_REGION",
    }
    assert ExampleConnection.required() == ["base_url", "token"]
