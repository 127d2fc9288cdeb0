"""How to reach a Jira Data Center instance in production: its base URL and a personal access token."""

from dataclasses import dataclass

from plumbing_dagster.kit import ConnectionSettings, setting


@dataclass(frozen=True, kw_only=True, repr=False)
class JiraConnection(ConnectionSettings):
    vendor = "jira"

    base_url: str = setting(
        env="JIRA_BASE_URL",
        description="the instance's base URL with its context path, if it has one: "
        "https://jira.example.com or https://example.com/jira",
    )
    pat: str = setting(
        env="JIRA_PAT",
        secret=True,
        description="a personal access token (Jira 8.14+), sent as `Authorization: Bearer`",
    )
