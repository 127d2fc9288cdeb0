"""The vendor kit: everything a vendor package is built from, written once and free of Dagster.

- `streams`: `Endpoint` (a stream's facts, declared once), window strategies, `rest_endpoint`.
- `paging`: paging strategies and `iter_pages`.
- `http`: `ApiClient` (retries, backoff, Retry-After, scrubbed errors).
- `auth`: API key / bearer headers, OAuth client credentials, rotating refresh tokens.
- `connection`: typed connection settings with their environment variables.
- `marts`: SQL marts a source owns.
- `emulator`: the base of every vendor emulator (server, faults, routing, tokens, seeded worlds).
- `vendor`: `Vendor`, what a package exports (`lazy_exports`: its emulator, loaded on use).
"""

from plumbing_dagster.kit.auth import ClientCredentials, HeaderAuth, RotatingTokens, SessionExpired, bearer
from plumbing_dagster.kit.connection import ConnectionError_, ConnectionSettings, setting
from plumbing_dagster.kit.http import ApiClient, ApiError, RetryPolicy, Scrubber
from plumbing_dagster.kit.marts import Mart, MartCheck, MartQuery
from plumbing_dagster.kit.paging import (
    CursorInBody,
    LinkInBody,
    Offset,
    Page,
    PageNumber,
    PageRequest,
    Paginator,
    Record,
    SinglePage,
    iter_pages,
)
from plumbing_dagster.kit.streams import (
    ClientFilter,
    Endpoint,
    Extract,
    RestClient,
    ServerFilter,
    VendorClient,
    rest_endpoint,
)
from plumbing_dagster.kit.vendor import Vendor, lazy_exports
from plumbing_dagster.kit.window import Window

__all__ = [
    "ApiClient",
    "ApiError",
    "ClientCredentials",
    "ClientFilter",
    "ConnectionError_",
    "ConnectionSettings",
    "CursorInBody",
    "Endpoint",
    "Extract",
    "HeaderAuth",
    "LinkInBody",
    "Mart",
    "MartCheck",
    "MartQuery",
    "Offset",
    "Page",
    "PageNumber",
    "PageRequest",
    "Paginator",
    "Record",
    "RestClient",
    "RetryPolicy",
    "RotatingTokens",
    "Scrubber",
    "ServerFilter",
    "SessionExpired",
    "SinglePage",
    "Vendor",
    "VendorClient",
    "Window",
    "bearer",
    "iter_pages",
    "lazy_exports",
    "rest_endpoint",
    "setting",
]
