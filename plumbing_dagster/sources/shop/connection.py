"""How to reach the shop API in production."""

from dataclasses import dataclass

from plumbing_dagster.kit import ConnectionSettings, setting


@dataclass(frozen=True, kw_only=True, repr=False)
class ShopConnection(ConnectionSettings):
    vendor = "shop"

    base_url: str = setting(env="SHOP_API_URL", description="e.g. https://shop.example.com")
    api_key: str = setting(env="SHOP_API_KEY", secret=True, description="sent as a Bearer token")
