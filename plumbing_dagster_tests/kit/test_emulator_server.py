"""The emulator server's life cycle: what a stop leaves behind (its speed is in the `startup` benchmark)."""

from __future__ import annotations

import socket

import httpx
import pytest

from plumbing_dagster.kit.emulator import EmulatorServer
from plumbing_dagster_tests.kit.apps import PagedApp


def test_a_stopped_emulator_frees_its_port_and_counted_only_the_requests_made() -> None:
    server = EmulatorServer(PagedApp()).start()
    host, port = server.url.removeprefix("http://").split(":")
    with httpx.Client(base_url=server.url) as client:  # a kept-alive connection stays open
        assert client.get("/pages", params={"page": 1}).status_code == 200
        assert client.get("/pages", params={"page": 2}).status_code == 200
        server.stop()
    assert server.requests_served == 2  # stop's wake-up connection is not a request
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5)
    with pytest.raises(RuntimeError, match="not running"):
        server.url  # noqa: B018
    server.stop()  # a second stop does nothing


def test_an_emulator_restarts_on_the_port_it_had() -> None:
    first = EmulatorServer(PagedApp()).start()
    port = int(first.url.rsplit(":", 1)[1])
    first.stop()
    with EmulatorServer(PagedApp(), port=port) as again:
        assert httpx.get(f"{again.url}/pages", params={"page": 1}).status_code == 200
        assert again.requests_served == 1
