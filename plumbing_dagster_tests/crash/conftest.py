"""The landing backends every crash and race test runs on: a local folder and the S3 server."""

from __future__ import annotations

from pathlib import Path

import pytest

from plumbing_dagster.resources import LandingZoneResource

# The S3 fixtures, imported rather than registered in the root conftest.py.
from plumbing_dagster_tests.s3 import (  # noqa: F401
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    landing_on_bucket,
    moto_endpoint,
    s3_bucket,
)

BACKENDS = ["local", "s3"]


@pytest.fixture(params=BACKENDS)
def landing_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[dict[str, str], LandingZoneResource]:
    """(environment for the sandbox's processes, the same landing zone for the test to read)."""
    if request.param == "local":
        return {}, LandingZoneResource(url=str(tmp_path / "data" / "landing"))
    endpoint, bucket = request.getfixturevalue("moto_endpoint"), request.getfixturevalue("s3_bucket")
    env = {
        "PLUMBING_LANDING_URL": f"s3://{bucket}/raw",
        "S3_ENDPOINT": endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    return env, landing_on_bucket(endpoint, bucket)
