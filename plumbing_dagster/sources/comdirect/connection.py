"""How to reach comdirect in production: the API host, the developer application's client
credentials, the customer's access number and PIN, and where the login's session is kept."""

from dataclasses import dataclass

from plumbing_dagster.kit import ConnectionSettings, setting


@dataclass(frozen=True, kw_only=True, repr=False)
class ComdirectConnection(ConnectionSettings):
    vendor = "comdirect"

    base_url: str = setting(env="COMDIRECT_API_URL", description="https://api.comdirect.de")
    client_id: str = setting(env="COMDIRECT_CLIENT_ID", secret=True)
    client_secret: str = setting(env="COMDIRECT_CLIENT_SECRET", secret=True)
    username: str = setting(env="COMDIRECT_USERNAME", secret=True, description="the Zugangsnummer")
    password: str = setting(env="COMDIRECT_PASSWORD", secret=True, description="the PIN")
    # Secret: a Postgres URL carries a password.
    session_store: str = setting(
        env="COMDIRECT_SESSION_STORE",
        secret=True,
        description="where the login's rotating token pair lives: postgresql://... (table "
        "comdirect_sessions, one row per customer) or file:/path (mode 0600)",
    )
    token_url: str | None = setting(
        env="COMDIRECT_TOKEN_URL", default=None, description="default: <base_url>/oauth/token"
    )
    # Not a setting: no environment variable or configured value can turn it on (`from_values`
    # refuses unknown names), only the sandbox's own `sandbox_connection`. With it, a client whose
    # session store has never held a login logs in by itself against the emulator on loopback,
    # whose push-TAN approves itself (see `session.py`). Production never starts a challenge
    # except in `comdirect_login`.
    sandbox_login: bool = False

    @property
    def oauth_url(self) -> str:
        return self.token_url or f"{self.base_url.rstrip('/')}/oauth/token"
