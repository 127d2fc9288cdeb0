"""S3 fixtures: a moto server on loopback (real HTTP, so s3fs/boto3 behave as against MinIO) and a
fresh bucket per test. Register with `pytest_plugins = ["plumbing_dagster_tests.s3"]`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from plumbing_dagster.resources import LandingZoneResource

ACCESS_KEY = "testing"  # moto accepts any credentials; these are not secrets
SECRET_KEY = "testing"
REGION = "us-east-1"


def start_moto_server() -> tuple[ThreadedMotoServer, str]:
    """A moto S3 server on a free loopback port and its endpoint URL (also used by benchmarks)."""
    # werkzeug logs every request at INFO: thousands of lines in a benchmark.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def s3_client(endpoint_url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


def landing_on_bucket(endpoint_url: str, bucket: str, root: str = "raw") -> LandingZoneResource:
    return LandingZoneResource(
        url=f"s3://{bucket}/{root}",
        endpoint_url=endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region=REGION,
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Endpoint URL of a moto S3 server shared by the session."""
    server, endpoint_url = start_moto_server()
    try:
        yield endpoint_url
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> str:
    """A new, empty bucket (names are unique, so tests never see each other's keys)."""
    bucket = f"landing-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_landing(moto_endpoint: str, s3_bucket: str) -> LandingZoneResource:
    """A landing zone resource rooted at `s3://<fresh bucket>/raw` on the moto server."""
    return landing_on_bucket(moto_endpoint, s3_bucket)
