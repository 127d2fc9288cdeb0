"""Odoo's models as streams: every stream reads the model its config names (`options.model`), the
same way, over either protocol (`client.py`); values become columns as `columns.py` says.

- A day (`write_date` in `[day, day+1)`, naive UTC strings as Odoo compares them) is read with
  `search_read`, `order='write_date asc, id asc'` — unique, so offset paging neither repeats nor
  skips records that share one second (a mass update stamps hundreds with the same one) — and
  `active_test: False`, so archived records land too. A record edited while its day is read leaves
  the window and shifts the later ones one place down the offsets; so after the pages, one `search`
  of the window's ids (a single answer from one transaction) finds whatever the pages missed, and
  those records are read by id. Records seen twice are landed once.
- `full_refresh` reads the whole model the same way, by `id`.
- `ids`: every id that exists now, archived ones included (deleted ones are gone from Odoo), paged
  by `id > last` so that a delete while paging cannot shift a page — the daily key snapshot that
  tells deletes apart.
- `describe`: the columns from `fields_get` (discovery needs no sample).

`sale_orders` (`sale.order`) and `sale_order_lines` (`sale.order.line`, which has its own
`write_date`) are listed; any other stream is the model its config names (`generic_endpoint`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from plumbing_dagster.config.models import FieldSpec
from plumbing_dagster.kit import Endpoint, Extract, Page, ServerFilter, Window
from plumbing_dagster.sources.odoo.client import OdooClient
from plumbing_dagster.sources.odoo.columns import plan_columns, row_maker, select

logger = logging.getLogger(__name__)

CURSOR = "write_date"
WINDOW_ORDER = "write_date asc, id asc"  # unique: offset pages neither overlap nor leave gaps
SNAPSHOT_ORDER = "id asc"
EVERY_RECORD = {"active_test": False}  # archived records too
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"  # naive UTC, as Odoo stores and compares datetimes
IDS_PAGE_SIZE = 50_000
READ_CHUNK = 1_000  # ids per `read` of the records the pages missed
MODEL_NAME = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


class OdooOptions(BaseModel):
    """A stream config's `options`: which model, and how many records a page asks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(pattern=MODEL_NAME, description="the Odoo model, e.g. res.partner")
    page_size: int = Field(
        default=1000, ge=1, le=10_000, description="records per search_read (lower it for heavy models)"
    )


def options_for(model: str) -> type[OdooOptions]:
    """The options of a listed stream: its model is fixed (and the default)."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"OdooOptions_{model.replace('.', '_')}",
        __base__=OdooOptions,
        model=(Literal[model], Field(default=model, description=f"always {model}")),  # type: ignore[valid-type]
    )


def _options(extract: Extract, kind: type[OdooOptions], stream: str) -> OdooOptions:
    if isinstance(extract.options, OdooOptions):
        return extract.options
    try:
        return kind()
    except ValueError:
        raise ValueError(f"odoo/{stream}: the stream config names no model (options.model)") from None


def odoo_utc(moment: datetime) -> str:
    """An aware moment as Odoo writes datetimes: naive UTC, whole seconds."""
    return moment.astimezone(UTC).strftime(ODOO_DATETIME)


def window_domain(window: Window) -> list[list[str]]:
    """`[start, end)` on `write_date`, as naive UTC strings (Odoo rejects literals with a zone)."""
    return [[CURSOR, ">=", odoo_utc(window.start)], [CURSOR, "<", odoo_utc(window.end)]]


def _read(client: OdooClient, extract: Extract, options: OdooOptions) -> Iterator[Page]:
    model = options.model
    described = client.fields(model)
    wanted = select(plan_columns(described), extract.fields, model)
    make_row = row_maker(wanted)
    fields = sorted({c.field for c in wanted} | {"id"} | ({CURSOR} & set(described)))
    if extract.window is not None:
        if CURSOR not in described:
            raise ValueError(f"odoo: {model} has no {CURSOR}; read it as full_refresh")
        domain, order = window_domain(extract.window), WINDOW_ORDER
    else:
        domain, order = [], SNAPSHOT_ORDER
    params = {"domain": domain, "fields": fields, "order": order, "context": EVERY_RECORD}
    seen: set[int] = set()
    for page in client.pages(model, "search_read", params, options.page_size):
        rows = []
        for record in page:
            if record["id"] not in seen:
                seen.add(record["id"])
                rows.append(make_row(record))
        if rows:
            yield rows
    # The pages came from many transactions; the window's ids come from one.
    check = "completeness check, page 1"  # one search for every id of the window
    params = {"domain": domain, "order": SNAPSHOT_ORDER, "context": EVERY_RECORD}
    found = client.call(model, "search", params, where=check)
    missed = [i for i in _id_list(client, model, found, check) if i not in seen]
    if missed:
        logger.warning("odoo: %d %s record(s) moved while paging; reading them by id", len(missed), model)
    for start in range(0, len(missed), READ_CHUNK):
        chunk = missed[start : start + READ_CHUNK]
        where = f"missed ids, offset {start} of {len(missed)}"
        records = client.call(model, "read", {"fields": fields}, ids=chunk, where=where)
        still = [r for r in records if domain == [] or _inside(r.get(CURSOR), domain)]
        if still:
            yield [make_row(r) for r in still]


def _inside(written: Any, domain: list[list[str]]) -> bool:
    """Whether a record read by id still lies in the window (it may have been edited again)."""
    return isinstance(written, str) and domain[0][2] <= written < domain[1][2]


def _id_list(client: OdooClient, model: str, found: Any, where: str) -> list[int]:
    if not isinstance(found, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in found):
        url = client.protocol.request(model, "search", {}, None).url
        problem = "malformed page: search did not answer a list of ids"
        raise client.api.error("POST", url, 200, problem, f"{model}.search, {where}")
    return found


def _ids(client: OdooClient, options: OdooOptions) -> Iterator[Page]:
    model, last, page = options.model, 0, 0
    while True:
        page += 1
        where = f"page {page}, ids after {last}"  # keyset paging: the offset is the last id seen
        params = {"domain": [["id", ">", last]], "order": SNAPSHOT_ORDER, "limit": IDS_PAGE_SIZE}
        found = client.call(model, "search", {**params, "context": EVERY_RECORD}, where=where)
        found = _id_list(client, model, found, where)
        if found:
            yield [{"id": i} for i in found]
        if len(found) < IDS_PAGE_SIZE:
            return
        last = found[-1]


def model_endpoint(stream: str, model: str | None = None, description: str = "") -> Endpoint:
    """The endpoint of `stream`: reads `model`, or (None) the model its config names."""
    kind = OdooOptions if model is None else options_for(model)

    def fetch(client: OdooClient, extract: Extract) -> Iterator[Page]:
        return _read(client, extract, _options(extract, kind, stream))

    def ids(client: OdooClient, extract: Extract) -> Iterator[Page]:
        return _ids(client, _options(extract, kind, stream))

    def describe(client: OdooClient, options: BaseModel | None) -> Mapping[str, FieldSpec]:
        chosen = _options(Extract(None, options=options), kind, stream)
        return {c.name: c.spec for c in plan_columns(client.fields(chosen.model)).values()}

    return Endpoint(
        name=stream,
        fetch=fetch,
        primary_key=("id",),
        cursors={CURSOR: ServerFilter()},
        snapshot=True,
        description=description
        or f"Records of the Odoo model in options.model, by day of {CURSOR} (archived ones included).",
        options=kind,
        describe=describe,
        ids=ids,
    )


@functools.cache
def generic_endpoint(stream: str) -> Endpoint:
    """Any stream not listed: the model its config names in `options.model`."""
    return model_endpoint(stream)


ENDPOINTS = {
    e.name: e
    for e in (
        model_endpoint(
            "sale_orders",
            "sale.order",
            "Sales orders and quotations (sale.order), by day of write_date; archived orders included.",
        ),
        model_endpoint(
            "sale_order_lines",
            "sale.order.line",
            "Sales order lines (sale.order.line), by day of their own write_date (a state change of "
            "the order rewrites every line).",
        ),
    )
}
