"""Paging strategies, written once and composed per endpoint: link in the body, cursor in the body,
page number (with a total), offset (with or without a total, in the query or in a JSON/RPC body).

A strategy turns the page just read into the request for the next one. It names the envelope
values it needs by dotted path (`_links.next.href`, `paging.matches`), so a page can be parsed
once — straight into Arrow for large streams — and the strategy reads only those values.
dlt's REST paginators take `requests` objects and the whole parsed body, which would mean
parsing every page twice; the strategies keep their interface shape (first request, next
request from the last page) but read declared values only.

`iter_pages` drives any strategy with an `ApiClient`: it checks the envelope, stops on a repeated
request (a loop) or a link to another host (our credentials would follow it), and names the page
or offset in every error.
"""

from __future__ import annotations

import copy
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pyarrow as pa

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.contract.arrow import ArrowPageParser, value_at
from plumbing_dagster.kit.http import ApiClient

logger = logging.getLogger(__name__)

Record = dict[str, Any]
Page = list[Record] | pa.Table


class MalformedPage(ValueError):
    """A page that does not have the envelope its strategy expects."""


@dataclass(frozen=True)
class PageRequest:
    """One request of a paged read: relative path or absolute URL, query parameters, JSON body."""

    method: str
    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None

    def with_params(self, **changes: Any) -> PageRequest:
        return replace(self, params={**self.params, **changes})

    def with_json(self, path: str, value: Any) -> PageRequest:
        """A copy whose JSON body has `value` at the dotted `path` (list indices allowed)."""
        body = copy.deepcopy(self.json) if self.json is not None else {}
        *parents, leaf = path.split(".")
        node = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
        return replace(self, json=body)

    def value(self, path: str, in_body: bool) -> Any:
        return value_at(self.json, path) if in_body else self.params.get(path)

    def identity(self) -> str:
        return repr((self.method, self.url, sorted(self.params.items()), self.json))


def _int(meta: Mapping[str, Any], path: str) -> int:
    value = meta.get(path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedPage(f"{path!r} is missing or not an integer")
    return value


class Paginator(ABC):
    """A paging strategy: the first request, and the next one from what a page said."""

    def meta(self) -> dict[str, pa.DataType]:
        """Envelope values this strategy reads, by dotted path, with their types."""
        return {}

    def first(self, request: PageRequest) -> PageRequest:
        return request

    @abstractmethod
    def next(self, request: PageRequest, meta: Mapping[str, Any], count: int) -> PageRequest | None:
        """The request for the page after `request`, or None after the last page.

        `meta` holds the values named by `meta()`; `count` is how many records the page held.
        Raises `MalformedPage` when the envelope does not say what it must."""

    def where(self, request: PageRequest, number: int) -> str:
        """Where a read is, for error messages: `page 3`, `offset 200`."""
        return f"page {number}"


@dataclass(frozen=True)
class SinglePage(Paginator):
    """No paging: one request holds everything."""

    def next(self, request: PageRequest, meta: Mapping[str, Any], count: int) -> PageRequest | None:
        return None


@dataclass(frozen=True)
class LinkInBody(Paginator):
    """The body links to the next page (`{"_links": {"next": {"href": ...}}}`), null on the last.

    The first segment of `next_path` is the links object every page must have (a page without it
    is malformed, not the last one). The link carries the page number and the filters: the next
    request takes no parameters of its own. Relative links are resolved against the API."""

    next_path: str

    @property
    def _parts(self) -> tuple[str, str, str]:
        container, _, rest = self.next_path.partition(".")
        entry = rest.partition(".")[0]
        return container, rest, entry

    def meta(self) -> dict[str, pa.DataType]:
        container, rest, _ = self._parts
        arrow_type: pa.DataType = pa.string()
        for part in reversed(rest.split(".")):
            arrow_type = pa.struct([pa.field(part, arrow_type)])
        return {container: arrow_type}

    def next(self, request: PageRequest, meta: Mapping[str, Any], count: int) -> PageRequest | None:
        container, rest, entry = self._parts
        links = meta.get(container)
        if not isinstance(links, Mapping) or entry not in links:
            raise MalformedPage(f"expected {container!r} with a {entry!r} entry")
        if links[entry] is None:
            return None
        link = value_at(links, rest)
        if not isinstance(link, str) or not link:
            raise MalformedPage(f"{self.next_path!r} is neither null nor a URL")
        return replace(request, url=link, params={})


@dataclass(frozen=True)
class CursorInBody(Paginator):
    """The body carries an opaque cursor for the next page (null or empty on the last), sent back
    as a query parameter."""

    cursor_path: str
    cursor_param: str

    def meta(self) -> dict[str, pa.DataType]:
        return {self.cursor_path: pa.string()}

    def next(self, request: PageRequest, meta: Mapping[str, Any], count: int) -> PageRequest | None:
        cursor = meta.get(self.cursor_path)
        if cursor is None or cursor == "":
            return None
        if not isinstance(cursor, str):
            raise MalformedPage(f"{self.cursor_path!r} is neither a string nor null")
        return request.with_params(**{self.cursor_param: cursor})


@dataclass(frozen=True)
class PageNumber(Paginator):
    """Numbered pages. The last page is judged by the total the API reports (records, not pages),
    with the page size it says it used — a server may lower it — or, without a total, by a short
    or empty page."""

    page_param: str = "page"
    size_param: str | None = "per_page"
    size: int | None = None
    total_path: str | None = "total"
    served_size_path: str | None = None
    first_page: int = 1

    def meta(self) -> dict[str, pa.DataType]:
        paths = [p for p in (self.total_path, self.served_size_path) if p]
        return {p: pa.int64() for p in paths}

    def first(self, request: PageRequest) -> PageRequest:
        params: dict[str, Any] = {self.page_param: self.first_page}
        if self.size_param and self.size:
            params[self.size_param] = self.size
        return request.with_params(**params)

    def next(self, request: PageRequest, meta: Mapping[str, Any], count: int) -> PageRequest | None:
        page = int(request.params[self.page_param])
        size = _int(meta, self.served_size_path) if self.served_size_path else self.size
        if size is not None and size < 1:
            raise MalformedPage(f"{self.served_size_path!r} is not positive")
        if count == 0:
            return None
        if self.total_path:
            total = _int(meta, self.total_path)
            if size is None:
                raise MalformedPage("the page size is unknown, so the total cannot end the read")
            if (page - self.first_page + 1) * size >= total:
                return None
        elif size is not None and count < size:
            return None
        return request.with_params(**{self.page_param: page + 1})

    def where(self, request: PageRequest, number: int) -> str:
        return f"page {request.params.get(self.page_param, number)}"


@dataclass(frozen=True)
class Offset(Paginator):
    """Offset and limit, in the query (`startAt`/`maxResults`, `paging-first`/`paging-count`) or at
    dotted paths of a JSON body (an RPC call's `params.args.6.offset`).

    The next offset is this page's offset plus the records it held, so a server that lowers the
    limit loses nothing. The read ends at the reported total (`total_path`), or without one at a
    page shorter than the limit."""

    offset_param: str
    limit_param: str
    limit: int
    total_path: str | None = None
    served_offset_path: str | None = None
    in_body: bool = False

    def meta(self) -> dict[str, pa.DataType]:
        paths = [p for p in (self.total_path, self.served_offset_path) if p]
        return {p: pa.int64() for p in paths}

    def _set(self, request: PageRequest, offset: int, limit: int | None = None) -> PageRequest:
        if self.in_body:
            request = request.with_json(self.offset_param, offset)
            return request.with_json(self.limit_param, limit) if limit is not None else request
        changes: dict[str, Any] = {self.offset_param: offset}
        if limit is not None:
            changes[self.limit_param] = limit
        return request.with_params(**changes)

    def first(self, request: PageRequest) -> PageRequest:
        return self._set(request, 0, self.limit)

    def next(self, request: PageRequest, meta: Mapping[str, Any], count: int) -> PageRequest | None:
        offset = int(request.value(self.offset_param, self.in_body))
        if self.served_offset_path:
            served = _int(meta, self.served_offset_path)
            if served != offset:
                raise MalformedPage(f"asked for offset {offset}, the page says {served}")
        if count == 0:
            return None
        if self.total_path:
            if offset + count >= _int(meta, self.total_path):
                return None
        elif count < self.limit:
            return None
        return self._set(request, offset + count)

    def where(self, request: PageRequest, number: int) -> str:
        return f"offset {request.value(self.offset_param, self.in_body)}"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def _records(body: Any, records_path: str) -> list[Record]:
    records = value_at(body, records_path)
    if not isinstance(records, list):
        raise MalformedPage(f"expected a list at {records_path or 'the top level'!r}")
    if not all(isinstance(record, dict) for record in records):
        raise MalformedPage(f"{records_path or 'the list'!r} holds something other than objects")
    return records


def iter_pages(
    api: ApiClient,
    request: PageRequest,
    paginator: Paginator,
    records_path: str,
    *,
    arrow_fields: Mapping[str, FieldSpec] | None = None,
) -> Iterator[Page]:
    """Pages of records from `request` on, as lists of dicts — or, with `arrow_fields` and a
    top-level `records_path`, as Arrow tables of those fields (a page whose values do not fit
    them comes as dicts)."""
    parser = None
    if arrow_fields and records_path and "." not in records_path:
        parser = ArrowPageParser(records_path, arrow_fields, paginator.meta())
    origin = _origin(httpx.URL(api.base_url))
    request = paginator.first(request)
    seen: set[str] = set()
    number = records = 0
    while True:
        number += 1
        where = paginator.where(request, number)
        response = api.request(
            request.method, request.url, params=request.params or None, json=request.json, where=where
        )
        try:
            parsed = parser.parse(response.content) if parser else None
            if parsed is not None:
                page, meta = parsed
            else:
                body = api.parse_json(response, where)
                page = _records(body, records_path)
                meta = {path: value_at(body, path) for path in paginator.meta()}
            following = paginator.next(request, meta, len(page))
            if following is not None:
                target = httpx.URL(api.public_url(following.url))
                if _origin(target) != origin:  # our credentials would go with the request
                    raise MalformedPage(f"the next page is on another host ({target.host})")
                if following.identity() in seen | {request.identity()}:
                    raise MalformedPage("the next page repeats an earlier one (it would loop forever)")
        except MalformedPage as problem:
            raise api.error(request.method, request.url, 200, f"malformed page: {problem}", where) from None
        records += len(page)
        if len(page):
            yield page
        if following is None:
            break
        seen.add(request.identity())
        request = following
    logger.debug(
        "%s: %s gave %d records in %d pages", api.vendor, api.public_url(request.url), records, number
    )
