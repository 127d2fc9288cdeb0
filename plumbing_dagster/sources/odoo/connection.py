"""How to reach an Odoo database in production: its URL and database, an API key, and which of
Odoo's external APIs to speak.

`protocol`: `json2` (Odoo 19+, `Authorization: bearer <key>`), `jsonrpc` (every version; Odoo 22
removes it; needs `login`), or `auto` (the default): ask `GET /web/version` and use JSON-2 from
Odoo 19 on, JSON-RPC before (an Odoo without `/web/version` is older than 18).
"""

from dataclasses import dataclass
from typing import Literal, get_args

from plumbing_dagster.kit import ConnectionError_, ConnectionSettings, setting

Protocol = Literal["auto", "json2", "jsonrpc"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)


@dataclass(frozen=True, kw_only=True, repr=False)
class OdooConnection(ConnectionSettings):
    vendor = "odoo"

    base_url: str = setting(env="ODOO_URL", description="e.g. https://mycompany.odoo.com")
    database: str = setting(
        env="ODOO_DATABASE", description="sent as X-Odoo-Database (JSON-2) and in every JSON-RPC call"
    )
    api_key: str = setting(
        env="ODOO_API_KEY",
        secret=True,
        description="an API key of the integration user (Preferences > Account Security); "
        "JSON-RPC takes it in place of the password",
    )
    login: str | None = setting(
        env="ODOO_LOGIN", default=None, description="the integration user's login; needed for JSON-RPC"
    )
    protocol: str = setting(env="ODOO_PROTOCOL", default="auto", description="auto | json2 | jsonrpc")

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConnectionError_(
                f"odoo: ODOO_PROTOCOL must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}"
            )
