"""How a vendor declares its streams: each stream's facts stated once, on its `Endpoint`.

- `primary_key`: the fields that identify a record.
- `cursors`: the fields a partition window can be applied on, each with how: `ServerFilter` (the
  API filters; `fetch` receives the window) or `ClientFilter` (every page is read and records
  whose cursor lies in the window are kept). No cursor: the stream can only be read whole.
- `snapshot`: whether the stream can be read whole (`full_refresh` lands that snapshot every day).
- how it pages: `rest_endpoint` declares a one-request stream as data (path, records path,
  paging strategy); anything more (fan-out per parent, JQL, RPC) gives its own `fetch`.
- families: several streams read from one request (Jira's issues, their changelog items, links
  and label bridges all come from the same search pages). `family_endpoints` declares them once:
  the family's raw pages and, per stream, how one raw record becomes that stream's records. The
  raw layer reads the raw pages once per run and derives every selected stream from them.

The sync modes a stream config may choose follow from these facts (`Endpoint.sync_modes`); the
discovered catalog is generated from them and the config loader checks every config against them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any, Protocol

from pydantic import BaseModel

from plumbing_dagster.config.models import DestinationSyncMode, FieldSpec, SyncMode
from plumbing_dagster.kit.http import ApiClient
from plumbing_dagster.kit.paging import Page, PageRequest, Paginator, Record, iter_pages
from plumbing_dagster.kit.window import Window


@dataclass(frozen=True)
class ServerFilter:
    """The API filters by the cursor: `fetch` receives the window and sends it."""


@dataclass(frozen=True)
class ClientFilter:
    """The API cannot filter by the cursor: the whole stream is read and each record whose cursor
    lies in the window is kept. `naive_zone` places timestamps that come without an offset."""

    naive_zone: tzinfo = UTC


WindowStrategy = ServerFilter | ClientFilter


class VendorClient(Protocol):
    """What endpoints get: the vendor's client, with its `ApiClient` for paged reads."""

    api: ApiClient

    def close(self) -> None: ...


class RestClient:
    """A vendor client that is an `ApiClient` plus whatever else must be closed with it (an auth
    helper's token client); vendors whose endpoints need no more than paged reads use this."""

    def __init__(self, api: ApiClient, *also_close: Any):
        self.api = api
        self._also_close = also_close

    def close(self) -> None:
        self.api.close()
        for other in self._also_close:
            other.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Extract:
    """What one fetch asks for."""

    window: Window | None  # None: the whole stream (a snapshot, a client-side filter, discovery)
    cursor: str | None = None
    fields: tuple[str, ...] = ()  # the contract's fields, for APIs that can select fields
    arrow_fields: Mapping[str, FieldSpec] | None = None  # pages may come parsed into Arrow by these
    options: BaseModel | None = None  # the stream config's `options`, as the endpoint's model
    streams: tuple[str, ...] = ()  # a family's streams this read feeds (what to ask the API for)


Fetch = Callable[[Any, Extract], Iterator[Page]]


@dataclass(frozen=True)
class Endpoint:
    """One stream a vendor offers, with its facts (see the module docstring)."""

    name: str
    fetch: Fetch
    primary_key: tuple[str, ...]
    cursors: Mapping[str, WindowStrategy] = field(default_factory=dict)
    snapshot: bool = True
    description: str = ""
    # Vendor-specific keys a stream config may set under "options" (a JQL scope, an Odoo model).
    options: type[BaseModel] | None = None
    # Field types the vendor describes itself (Odoo's fields_get), for discovery; else sampled.
    describe: Callable[[Any, BaseModel | None], Mapping[str, FieldSpec]] | None = None
    destination_sync_modes: tuple[DestinationSyncMode, ...] = ("append", "merge")
    # Every key that exists now (archived ones too), cheaply: pages of records holding only the
    # key fields. The raw layer lands this snapshot with each day, and staging marks keys that
    # have disappeared (`deleted_on` in `__current`): APIs that never report deletes need it.
    ids: Fetch | None = None
    # A family's streams share one read: `family` names it, `raw` reads its raw pages, `derive`
    # turns one raw record into this stream's records (see `family_endpoints`).
    family: str | None = None
    raw: Fetch | None = None
    derive: Callable[[Record], Iterable[Record]] | None = None

    def __post_init__(self) -> None:
        if not self.cursors and not self.snapshot:
            raise ValueError(f"endpoint {self.name!r} can be read neither by window nor whole")

    @property
    def sync_modes(self) -> tuple[SyncMode, ...]:
        modes: list[SyncMode] = []
        if self.cursors:
            modes.append("incremental")
        if self.snapshot:
            modes.append("full_refresh")
        return tuple(modes)

    @property
    def default_cursor(self) -> str | None:
        return next(iter(self.cursors), None)


def rest_endpoint(
    name: str,
    *,
    path: str,
    records: str,
    paging: Paginator,
    primary_key: tuple[str, ...],
    cursors: Mapping[str, WindowStrategy] | None = None,
    params: Mapping[str, Any] | None = None,
    window_params: Callable[[Window], Mapping[str, Any]] | None = None,
    snapshot: bool = True,
    description: str = "",
) -> Endpoint:
    """A stream read with one paged GET: `records` is the dotted path of the records in a page,
    `window_params` turns a window into the query parameters of a `ServerFilter` cursor."""

    def fetch(client: VendorClient, extract: Extract) -> Iterator[Page]:
        query = dict(params or {})
        if extract.window is not None:
            if window_params is None:
                raise ValueError(f"{name}: this endpoint has no server-side window")
            query.update(window_params(extract.window))
        request = PageRequest("GET", path, query)
        return iter_pages(client.api, request, paging, records, arrow_fields=extract.arrow_fields)

    return Endpoint(
        name=name,
        fetch=fetch,
        primary_key=primary_key,
        cursors=dict(cursors or {}),
        snapshot=snapshot,
        description=description,
    )


@dataclass(frozen=True)
class Member:
    """One stream of a family: how a raw record becomes its records, and its own key."""

    derive: Callable[[Record], Iterable[Record]]
    primary_key: tuple[str, ...]
    description: str


def family_endpoints(
    family: str,
    *,
    raw: Fetch,
    members: Mapping[str, Member],
    cursors: Mapping[str, WindowStrategy] | None = None,
    snapshot: bool = True,
    options: type[BaseModel] | None = None,
) -> dict[str, Endpoint]:
    """Endpoints of streams derived from one read (`raw` yields the family's raw pages). Read alone,
    a member reads the raw pages and derives its records; the raw layer reads them once for all
    selected members. Members share the family's cursors (they are windowed by the raw record's)."""

    def member_fetch(name: str, member: Member) -> Fetch:
        def fetch(client: Any, extract: Extract) -> Iterator[Page]:
            for page in raw(client, replace(extract, streams=(name,), arrow_fields=None)):
                records = [row for record in page for row in member.derive(record)]
                if records:
                    yield records

        return fetch

    return {
        name: Endpoint(
            name=name,
            fetch=member_fetch(name, member),
            primary_key=member.primary_key,
            cursors=dict(cursors or {}),
            snapshot=snapshot,
            description=member.description,
            options=options,
            family=family,
            raw=raw,
            derive=member.derive,
        )
        for name, member in members.items()
    }
