"""How to reach Jortt in production: the API host, and the OAuth application's credentials."""

from dataclasses import dataclass

from plumbing_dagster.kit import ConnectionSettings, setting


@dataclass(frozen=True, kw_only=True, repr=False)
class JorttConnection(ConnectionSettings):
    vendor = "jortt"

    base_url: str = setting(env="JORTT_API_URL", description="https://api.jortt.nl")
    client_id: str = setting(env="JORTT_CLIENT_ID", secret=True)
    client_secret: str = setting(env="JORTT_CLIENT_SECRET", secret=True)
    token_url: str | None = setting(
        env="JORTT_TOKEN_URL",
        default=None,
        description="default: Jortt's app host for api.jortt.nl, else <base_url>/oauth-provider/oauth/token",
    )
