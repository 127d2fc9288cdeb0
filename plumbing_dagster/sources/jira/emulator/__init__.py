"""The Jira Data Center 10.3 emulator: the REST API (`app`, `search`, `resources`) over deterministic
data (`world`, built from `catalog`, `ledger`, `history` and `changes`; rendered by `render`; JQL in
`jql` and `query`; Jira's date-times in `times`)."""

from plumbing_dagster.sources.jira.emulator.app import SANDBOX_PAT, JiraEmulator, RateLimit
from plumbing_dagster.sources.jira.emulator.world import JiraWorld

__all__ = ["SANDBOX_PAT", "JiraEmulator", "JiraWorld", "RateLimit"]
