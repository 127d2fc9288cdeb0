"""Secrets never reach logs, asset metadata or error messages."""

import logging

import pytest

from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster.resources import VendorApisResource
from plumbing_dagster.sources.jortt import JorttEmulator
from plumbing_dagster_tests.conftest import definitions_for, materialize

CLIENT_ID = "client-id-7f3a9e"
SECRET = "s3cr3t-v4lue-b81c"
WRONG_SECRET = "wr0ng-s3cr3t-d42e"


def _everything_the_run_said(result) -> str:
    parts = []
    for event in result.all_events:
        parts.append(event.message or "")
        parts.append(repr(event.event_specific_data))
    return "\n".join(parts)


def _apis(url: str, secret: str) -> VendorApisResource:
    return VendorApisResource(
        sandbox=False,
        connections={
            "jortt": {
                "base_url": url,
                "token_url": f"{url}/oauth-provider/oauth/token",
                "client_id": CLIENT_ID,
                "client_secret": secret,
            }
        },
    )


@pytest.mark.parametrize("secret", [SECRET, WRONG_SECRET])
def test_credentials_stay_out_of_events_metadata_errors_and_logs(sandbox, caplog, secret):
    caplog.set_level(logging.DEBUG)
    emulator = JorttEmulator(client_id=CLIENT_ID, client_secret=SECRET, rate_limit=None)
    with EmulatorServer(emulator) as server:
        result = materialize(
            definitions_for(sandbox),
            ["raw/jortt/invoices_landed", "staging/jortt/invoices"],
            partition_key="2026-11-02",
            resources={"vendor_apis": _apis(server.url, secret)},
            raise_on_error=False,
        )
    assert result.success is (secret == SECRET)
    said = _everything_the_run_said(result) + "\n" + caplog.text
    if secret == WRONG_SECRET:
        assert "oauth-provider/oauth/token failed with HTTP 401" in said
    for value in (SECRET, WRONG_SECRET, CLIENT_ID):
        assert value not in said
    assert emulator.token_requests >= 1
