"""Jira Data Center (seed 002): issues with their changelogs, links and bridges, searched by JQL over
`/rest/api/2`, for a reporting schema in PostgreSQL.

Streams (`endpoints.py`): the `issues` family — `issues`, `changelog_items`, `issue_links`,
`issue_labels`, `issue_components`, `issue_fix_versions` — all from one search per day, windowed
on `updated` in epoch milliseconds (`search.py`); `fields` (the field metadata dump) and
`projects`, daily snapshots. The marts (`marts.py`) build the reporting tables in Postgres.

Auth is a personal access token as `Authorization: Bearer` (`JIRA_PAT`) against `JIRA_BASE_URL`,
the instance's base URL with its context path (`client.py`). In the sandbox, `JiraEmulator`
serves a Data Center 10.3 instance that lowers `maxResults` to 100 and truncates search
changelogs to the newest 10 histories, so every sandbox day pages and completes changelogs.
"""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING

from plumbing_dagster.kit import Vendor, lazy_exports
from plumbing_dagster.sources.jira.client import JiraClient, connect
from plumbing_dagster.sources.jira.connection import JiraConnection
from plumbing_dagster.sources.jira.endpoints import ENDPOINTS, IssueScope
from plumbing_dagster.sources.jira.marts import MARTS

if TYPE_CHECKING:
    from plumbing_dagster.sources.jira.emulator import JiraEmulator, JiraWorld

# The emulator is imported when used (sandbox runs, tests), not with the code location.
__getattr__ = lazy_exports(__name__, {"JiraEmulator": ".emulator", "JiraWorld": ".emulator"})


def sandbox_emulator() -> JiraEmulator:
    from plumbing_dagster.sources.jira.emulator import JiraEmulator

    return JiraEmulator(max_results_cap=100, truncate_changelog=True, changelog_limit=10)


def sandbox_connection(url: str) -> JiraConnection:
    from plumbing_dagster.sources.jira.emulator import SANDBOX_PAT

    return JiraConnection(base_url=url, pat=SANDBOX_PAT)


VENDOR = Vendor(
    name="jira",
    start_date=date(2026, 1, 1),
    endpoints=ENDPOINTS,
    connection=JiraConnection,
    connect=connect,
    emulator=sandbox_emulator,
    sandbox_connection=sandbox_connection,
    marts=MARTS,
    # The day's window is exact (epoch ms); an hour after midnight Jira's index has long settled.
    schedule_at=time(1, 0),
    description="Jira Data Center (seed 002): issues, changelogs, links and bridges for reporting.",
)

__all__ = ["ENDPOINTS", "VENDOR", "IssueScope", "JiraClient", "JiraEmulator", "JiraWorld", "connect"]
