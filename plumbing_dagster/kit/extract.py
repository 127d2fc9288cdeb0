"""A stream config's sync mode applied to its endpoint: which fetch, with which window.

- `full_refresh`: the whole stream, every time (the day's partition holds that snapshot).
- `incremental`: the records whose configured cursor lies in the window — sent to the API for a
  `ServerFilter` cursor, kept here record by record for a `ClientFilter` cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from plumbing_dagster.config.models import FieldSpec, StreamConfig
from plumbing_dagster.contract.arrow import arrow_parsable
from plumbing_dagster.kit.paging import Page, Record
from plumbing_dagster.kit.streams import ClientFilter, Endpoint, Extract, ServerFilter
from plumbing_dagster.kit.window import Window


class CursorError(ValueError):
    """A record whose cursor cannot be placed in a day: the run fails rather than lose it."""


def _describe(record: Record, keys: tuple[str, ...]) -> str:
    shown = ", ".join(f"{k}={record.get(k)!r}" for k in keys)
    return f"record {shown}" if shown else "a record"


def cursor_value(
    record: Record, cursor: str, spec: FieldSpec, strategy: ClientFilter, keys: tuple[str, ...]
) -> date | datetime:
    """The record's cursor as a date (for `format: date`) or an aware datetime."""
    value = record.get(cursor)
    if isinstance(value, str):
        try:
            if spec.format == "date":
                return date.fromisoformat(value[:10])
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=strategy.naive_zone)
    wanted = "ISO 8601 date" if spec.format == "date" else "ISO 8601 date-time"
    raise CursorError(f"{_describe(record, keys)} has {cursor}={value!r}, not an {wanted}")


def _in_window(
    pages: Iterator[Page],
    window: Window,
    cursor: str,
    spec: FieldSpec,
    endpoint: Endpoint,
) -> Iterator[Page]:
    days = set(window.days())
    strategy = endpoint.cursors[cursor]
    assert isinstance(strategy, ClientFilter)
    for number, page in enumerate(pages, start=1):
        if isinstance(page, pa.Table):
            page = page.to_pylist()
        kept = []
        for record in page:
            try:
                value = cursor_value(record, cursor, spec, strategy, endpoint.primary_key)
            except CursorError as problem:  # say where in the read, as API errors do
                raise CursorError(f"{endpoint.name}, page {number} of the read: {problem}") from None
            inside = value in days if spec.format == "date" else window.contains(value)  # type: ignore[arg-type]
            if inside:
                kept.append(record)
        if kept:
            yield kept


def stream_options(endpoint: Endpoint, config: StreamConfig) -> BaseModel | None:
    """The config's `options` as the endpoint's model (the loader has validated them already)."""
    return endpoint.options.model_validate(config.options) if endpoint.options else None


def fetch_stream(endpoint: Endpoint, client: Any, config: StreamConfig, window: Window) -> Iterator[Page]:
    """Pages of the stream for one window, as its config's sync mode says.

    Pages come parsed into Arrow where the endpoint can and the contract allows (no field kept as
    JSON text, no client-side filter that must look at each record)."""
    options = stream_options(endpoint, config)
    fields: Mapping[str, FieldSpec] = config.fields
    arrow_fields = fields if arrow_parsable(fields) else None
    names = tuple(fields)
    if config.sync_mode == "full_refresh":
        return endpoint.fetch(client, Extract(None, config.cursor, names, arrow_fields, options))
    cursor = config.cursor
    if cursor is None or cursor not in endpoint.cursors:
        raise ValueError(f"{endpoint.name}: no window strategy for cursor {cursor!r}")
    strategy = endpoint.cursors[cursor]
    if isinstance(strategy, ClientFilter):
        pages = endpoint.fetch(client, Extract(None, cursor, names, None, options))
        return _in_window(pages, window, cursor, fields[cursor], endpoint)
    return endpoint.fetch(client, Extract(window, cursor, names, arrow_fields, options))


def fetch_family(
    endpoint: Endpoint, client: Any, config: StreamConfig, window: Window, streams: tuple[str, ...]
) -> Iterator[Page]:
    """The raw pages of `endpoint`'s family for one window, feeding `streams` (read once for all).

    Families are windowed by the API (`ServerFilter`) or read whole; the records they yield are
    the vendor's raw records, which each member then derives its own rows from."""
    if endpoint.raw is None:
        raise ValueError(f"{endpoint.name} belongs to no family")
    options = stream_options(endpoint, config)
    if config.sync_mode == "full_refresh":
        return endpoint.raw(client, Extract(None, config.cursor, (), None, options, streams))
    cursor = config.cursor
    if cursor is None or not isinstance(endpoint.cursors.get(cursor), ServerFilter):
        raise ValueError(f"{endpoint.name}: a family is windowed by the API; {cursor!r} is not such a cursor")
    return endpoint.raw(client, Extract(window, cursor, (), None, options, streams))
