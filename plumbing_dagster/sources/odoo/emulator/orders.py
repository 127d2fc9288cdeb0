"""The sales orders of the emulated Odoo: each order's whole life planned as transactions when its
day is generated, and the mass updates that stamp hundreds of orders with one second.

Generation is a pure function of its generators: builders draw from them in a fixed order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from plumbing_dagster.sources.odoo.emulator.catalogue import Catalogue
from plumbing_dagster.sources.odoo.emulator.models import line_field_names
from plumbing_dagster.sources.odoo.emulator.timeline import (
    ADMIN_UID,
    COMPANY_ID,
    DAY,
    EUR,
    HOURS,
    SALES_UIDS,
    TAX_RATES,
    USD,
    Change,
    Transaction,
    money,
    stamp,
)

SLOW_SHARE = 0.03  # share of transactions that commit late
_SECTIONS = ("Furniture", "Accessories", "Services")
_NOTES = ("Delivery within 5 working days.", "Assembly included.", "Prices valid for 30 days.")


@dataclass(frozen=True)
class OrderSummary:
    """What a mass update needs to know of an order without replaying it."""

    id: int
    created: int  # commit of its creation
    busy: tuple[tuple[int, int], ...]  # (started, committed) of each of its transactions
    archived: int | None
    deleted: int | None


def _line_amounts(line: dict[str, Any], tax_field: str) -> dict[str, float]:
    subtotal = money(line["product_uom_qty"] * line["price_unit"] * (1 - line["discount"] / 100))
    tax = money(subtotal * sum(TAX_RATES[t] for t in line[tax_field]) / 100)
    return {"price_subtotal": subtotal, "price_tax": tax, "price_total": money(subtotal + tax)}


def _order_amounts(lines: Sequence[dict[str, Any]]) -> dict[str, float]:
    untaxed = money(sum(line["price_subtotal"] for line in lines))
    tax = money(sum(line["price_tax"] for line in lines))
    return {"amount_untaxed": untaxed, "amount_tax": tax, "amount_total": money(untaxed + tax)}


class _OrderPlan:
    """The transactions of one order, one after the other (a row is never in two at once)."""

    def __init__(self, rng: random.Random, created: int):
        self.rng = rng
        self.clock = created
        self.transactions: list[Transaction] = []

    def run(
        self, gap: tuple[int, int], uid: int, build: Callable[[int], list[Change]], slow: float = SLOW_SHARE
    ) -> int:
        """A transaction starting `gap` seconds after the previous one committed; its commit second."""
        started = self.clock + self.rng.randint(*gap)
        committed = started + (self.rng.randint(30, 900) if self.rng.random() < slow else 0)
        self.transactions.append(Transaction(started, committed, uid, tuple(build(started))))
        self.clock = committed
        return committed


def _order_lines(
    rng: random.Random,
    order_id: int,
    created: int,
    currency: int,
    line_ids: Iterator[int],
    catalogue: Catalogue,
    version: int,
) -> dict[int, dict[str, Any]]:
    """A new order's lines: maybe a section first, products, maybe a note last."""
    uom_field, tax_field = line_field_names(version)
    shared = {
        "order_id": order_id,
        "currency_id": currency,
        "company_id": COMPANY_ID,
        "state": "draft",
        "invoice_status": "no",
        "qty_delivered": 0.0,
        "qty_invoiced": 0.0,
    }
    blank = {
        "product_id": None,
        "product_uom_qty": 0.0,
        uom_field: None,
        tax_field: [],
        "price_unit": 0.0,
        "discount": 0.0,
        "price_subtotal": 0.0,
        "price_tax": 0.0,
        "price_total": 0.0,
    }
    lines: dict[int, dict[str, Any]] = {}
    if rng.random() < 0.2:
        lines[next(line_ids)] = {
            **shared,
            **blank,
            "display_type": "line_section",
            "name": rng.choice(_SECTIONS),
        }
    products = catalogue.products_at(created)
    for product in rng.sample(products, min(len(products), rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5)))):
        hours = product.uom == HOURS
        quantity = rng.choice((1.0, 2.5, 4.0, 8.0)) if hours else float(rng.choice((1, 1, 2, 3, 5, 10, 12)))
        line = {
            **shared,
            "display_type": None,
            "product_id": product.id,
            "name": product.display,
            "product_uom_qty": quantity,
            uom_field: product.uom,
            tax_field: list(product.taxes),
            "price_unit": product.price_at(created),
            "discount": rng.choice((0.0,) * 6 + (5.0, 10.0, 15.0)),
        }
        lines[next(line_ids)] = {**line, **_line_amounts(line, tax_field)}
    if rng.random() < 0.1:
        lines[next(line_ids)] = {**shared, **blank, "display_type": "line_note", "name": rng.choice(_NOTES)}
    for sequence, line in enumerate(lines.values(), start=10):
        line["sequence"] = sequence
    return lines


def plan_order(
    rng: random.Random,
    order_id: int,
    created: int,
    line_ids: Iterator[int],
    catalogue: Catalogue,
    version: int,
) -> tuple[OrderSummary, list[Transaction]]:
    """An order's whole life from its creation at `created`: maybe edited, sent; then confirmed
    (delivered, invoiced), cancelled or left as a quotation; maybe archived or deleted at the end.
    Line `state` is Odoo's stored related field on the order's state, so a state change writes
    (and re-stamps) every line as well."""
    _, tax_field = line_field_names(version)
    user = rng.choice(SALES_UIDS)
    currency = USD if rng.random() < 0.15 else EUR
    lines = _order_lines(rng, order_id, created, currency, line_ids, catalogue, version)
    order = {
        "name": f"S{order_id:05d}",
        "partner_id": rng.choice(catalogue.customers_at(created)).id,
        "date_order": stamp(created),
        "validity_date": stamp(created + 30 * DAY)[:10],  # quotations are valid 30 days
        "state": "draft",
        "client_order_ref": f"PO-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None,
        "origin": None,
        "currency_id": currency,
        "user_id": user,
        "company_id": COMPANY_ID,
        "invoice_status": "no",
        "active": True,
        **_order_amounts(list(lines.values())),
    }
    plan = _OrderPlan(rng, created)
    creation = [Change("sale.order", order_id, order, True)]
    # Copies: the plan goes on editing `lines`, and a transaction must keep what it wrote.
    creation += [
        Change("sale.order.line", lid, {**line, tax_field: list(line[tax_field])}, True)
        for lid, line in lines.items()
    ]
    plan.run((0, 0), user, lambda _: creation, slow=0.02)
    sold = [lid for lid, line in lines.items() if line["display_type"] is None]

    def every_line(values: dict[str, Any], sold_values: dict[str, Any] | None = None) -> list[Change]:
        return [
            Change("sale.order.line", lid, {**values, **((sold_values or {}) if lid in sold else {})})
            for lid in lines
        ]

    if rng.random() < 0.25:  # the quotation is edited: a line removed, or a quantity or discount changed
        target = rng.choice(sold)
        if len(sold) > 1 and rng.random() < 0.3:
            del lines[target]
            sold.remove(target)
            edit = Change("sale.order.line", target, None)
        else:
            patch = rng.choice(
                (
                    {"product_uom_qty": lines[target]["product_uom_qty"] + 1},
                    {"discount": rng.choice((5.0, 10.0, 20.0))},
                )
            )
            lines[target].update(patch)
            patch.update(_line_amounts(lines[target], tax_field))
            lines[target].update(patch)
            edit = Change("sale.order.line", target, patch)
        amounts = _order_amounts(list(lines.values()))
        plan.run((300, 2 * DAY), user, lambda _: [edit, Change("sale.order", order_id, amounts)])
    if rng.random() < 0.5:
        plan.run(
            (600, DAY),
            user,
            lambda _: [Change("sale.order", order_id, {"state": "sent"}), *every_line({"state": "sent"})],
        )
    outcome, archived, deleted = rng.random(), None, None
    if outcome < 0.65:
        plan.run(
            (3600, 3 * DAY),
            user,
            lambda started: [
                Change(
                    "sale.order",
                    order_id,
                    {"state": "sale", "date_order": stamp(started), "invoice_status": "to invoice"},
                ),
                *every_line({"state": "sale"}, {"invoice_status": "to invoice"}),
            ],
        )
        if rng.random() < 0.85:
            plan.run(
                (DAY // 2, 5 * DAY),
                ADMIN_UID,
                lambda _: [
                    Change("sale.order.line", lid, {"qty_delivered": lines[lid]["product_uom_qty"]})
                    for lid in sold
                ],
            )
            if rng.random() < 0.75:
                done = {"state": "done"} if version < 17 else {}  # before 17, invoiced orders end "done"
                invoiced = [Change("sale.order", order_id, {"invoice_status": "invoiced", **done})]
                for lid in lines:
                    billed = {"qty_invoiced": lines[lid]["product_uom_qty"], "invoice_status": "invoiced"}
                    invoiced.append(
                        Change("sale.order.line", lid, {**done, **(billed if lid in sold else {})})
                    )
                plan.run((3600, 3 * DAY), ADMIN_UID, lambda _: invoiced)
    elif outcome < 0.77:
        plan.run(
            (3600, 4 * DAY),
            user,
            lambda _: [
                Change("sale.order", order_id, {"state": "cancel", "invoice_status": "no"}),
                *every_line({"state": "cancel", "invoice_status": "no"}),
            ],
        )
    if outcome < 0.77 and rng.random() < 0.08:  # a finished order is archived
        archived = plan.run(
            (DAY, 20 * DAY), user, lambda _: [Change("sale.order", order_id, {"active": False})]
        )
    # Odoo only deletes quotations and cancelled orders.
    delete_share = 0.35 if 0.65 <= outcome < 0.77 else 0.15 if outcome >= 0.77 else 0.0
    if archived is None and rng.random() < delete_share:
        deleted = plan.run(
            (3600, 10 * DAY),
            user,
            lambda _: (
                [Change("sale.order", order_id, None)]
                + [Change("sale.order.line", lid, None) for lid in lines]
            ),
        )
    busy = tuple((t.started, t.committed) for t in plan.transactions)
    return OrderSummary(order_id, busy[0][1], busy, archived, deleted), plan.transactions


def plan_day(
    rng: random.Random,
    day_ts: int,
    count: int,
    first_order_id: int,
    line_ids: Iterator[int],
    catalogue: Catalogue,
    version: int,
) -> tuple[list[OrderSummary], list[Transaction]]:
    """The orders created on the UTC day starting at `day_ts`, during office hours."""
    summaries, transactions = [], []
    moments = sorted(day_ts + rng.randrange(7 * 3600, 19 * 3600) for _ in range(count))
    for order_id, created in enumerate(moments, start=first_order_id):
        summary, planned = plan_order(rng, order_id, created, line_ids, catalogue, version)
        summaries.append(summary)
        transactions.extend(planned)
    return summaries, transactions


def mass_update(rng: random.Random, moment: int, size: int, orders: Sequence[OrderSummary]) -> Transaction:
    """One transaction reassigning the salesperson of the `size` newest settled orders (a list-view
    mass edit of old orders): every one gets `write_date` = `moment`. Settled means created, not
    archived, and with no transaction of its own after `moment` — nor under way then (PostgreSQL
    would make one wait) — so the shared second stays their `write_date` for good."""
    candidates = [
        order
        for order in orders
        if order.archived is None
        and order.deleted is None
        and all(committed < moment for _, committed in order.busy)
    ]
    user = rng.choice(SALES_UIDS)
    changes = tuple(
        Change("sale.order", order.id, {"user_id": user}) for order in candidates[-size:] if size > 0
    )
    return Transaction(moment, moment, ADMIN_UID, changes)
