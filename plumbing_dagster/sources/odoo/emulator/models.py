"""The models the emulated Odoo has, with their fields as `fields_get` describes them, their default
`_order` and how their `display_name` reads — per Odoo version, since field names moved: on
`sale.order.line`, Odoo 19 renamed `product_uom` to `product_uom_id` and `tax_id` to `tax_ids`.

Besides the six models a sales extract reads (`sale.order`, `sale.order.line`, `res.partner`,
`product.product`, `res.users`, `res.currency`) there are the three every many2one of theirs points
at (`res.company`, `uom.uom`, `account.tax`), so that every `relation` names a model that exists.

One deliberate departure: standard `sale.order` has no `active` field; here it has one, so that the
archive rules (hidden unless `active_test: False`) can be exercised on the stream we extract.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIN_VERSION, MAX_VERSION = 16, 19
JSON2_SINCE = 19  # the JSON-2 API exists from this version on
WEB_VERSION_SINCE = 18  # GET /web/version exists from this version on

Selection = tuple[tuple[str, str], ...]

# Odoo's field types, as `fields_get` names them.
RELATIONAL = frozenset({"many2one", "one2many", "many2many"})
X2MANY = frozenset({"one2many", "many2many"})
NUMERIC = frozenset({"integer", "float", "monetary"})
TEXTUAL = frozenset({"char", "text", "html", "selection"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    string: str
    relation: str | None = None
    relation_field: str | None = None  # one2many: the many2one on the other side
    selection: Selection = ()
    required: bool = False
    readonly: bool = False
    store: bool = True
    currency_field: str | None = None
    help: str | None = None

    def describe(self) -> dict[str, Any]:
        """This field as `fields_get` describes it (all attributes)."""
        description: dict[str, Any] = {
            "type": self.type,
            "string": self.string,
            "required": self.required,
            "readonly": self.readonly,
            "store": self.store,
            "searchable": True,
            "sortable": self.store and self.type not in X2MANY,
            "groupable": self.store and self.type not in ("text", "html", "one2many"),
            "exportable": True,
            "manual": False,
            "change_default": False,
            "company_dependent": False,
            "depends": [],
            "name": self.name,
        }
        if self.help:
            description["help"] = self.help
        if self.type in ("char", "text", "html"):
            description["translate"] = False
        if self.type == "selection":
            description["selection"] = [list(option) for option in self.selection]
        if self.type == "monetary":
            description["currency_field"] = self.currency_field or "currency_id"
        if self.relation:
            description.update(relation=self.relation, context={}, domain=[])
        if self.relation_field:
            description["relation_field"] = self.relation_field
        return description


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str  # Odoo's `_description`, used in access error messages
    order: str  # Odoo's `_order`: the order when a search gives none
    fields: Mapping[str, Field]

    @property
    def has_active(self) -> bool:
        return "active" in self.fields


def _f(name: str, type_: str, string: str, **attributes: Any) -> Field:
    return Field(name, type_, string, **attributes)


def _m2o(name: str, relation: str, string: str, **attributes: Any) -> Field:
    return Field(name, "many2one", string, relation=relation, **attributes)


def _model(name: str, description: str, order: str, *fields: Field) -> ModelSpec:
    # Every model has `id` first and Odoo's magic fields last.
    magic = (
        _f("display_name", "char", "Display Name", store=False, readonly=True),
        _m2o("create_uid", "res.users", "Created by", readonly=True),
        _f("create_date", "datetime", "Created on", readonly=True),
        _m2o("write_uid", "res.users", "Last Updated by", readonly=True),
        _f("write_date", "datetime", "Last Updated on", readonly=True),
    )
    every = (_f("id", "integer", "ID", readonly=True), *fields, *magic)
    return ModelSpec(name, description, order, {field.name: field for field in every})


ORDER_STATES: Selection = (
    ("draft", "Quotation"),
    ("sent", "Quotation Sent"),
    ("sale", "Sales Order"),
    ("cancel", "Cancelled"),
)
DONE_STATE = ("done", "Locked")  # before Odoo 17: a fully invoiced order ends "done"
INVOICE_STATUSES: Selection = (
    ("upselling", "Upselling Opportunity"),
    ("invoiced", "Fully Invoiced"),
    ("to invoice", "To Invoice"),
    ("no", "Nothing to Invoice"),
)


def line_field_names(version: int) -> tuple[str, str]:
    """(unit of measure, taxes) field names of `sale.order.line` in `version`."""
    return ("product_uom_id", "tax_ids") if version >= 19 else ("product_uom", "tax_id")


def _sale_order(version: int) -> ModelSpec:
    states = ORDER_STATES if version >= 17 else (*ORDER_STATES[:3], DONE_STATE, ORDER_STATES[3])
    return _model(
        "sale.order",
        "Sales Order",
        "date_order desc, id desc",
        _f("name", "char", "Order Reference", required=True, readonly=True),
        _m2o("partner_id", "res.partner", "Customer", required=True),
        _f(
            "date_order",
            "datetime",
            "Order Date",
            required=True,
            help="Creation date of draft/sent orders,\nConfirmation date of confirmed orders.",
        ),
        _f("validity_date", "date", "Expiration"),
        _f("state", "selection", "Status", selection=states, readonly=True),
        _f("client_order_ref", "char", "Customer Reference"),
        _f("origin", "char", "Source Document"),
        _f("amount_untaxed", "monetary", "Untaxed Amount", readonly=True),
        _f("amount_tax", "monetary", "Taxes", readonly=True),
        _f("amount_total", "monetary", "Total", readonly=True),
        _m2o("currency_id", "res.currency", "Currency", readonly=True),
        _m2o("user_id", "res.users", "Salesperson"),
        _m2o("company_id", "res.company", "Company", required=True),
        _f("invoice_status", "selection", "Invoice Status", selection=INVOICE_STATUSES, readonly=True),
        Field("order_line", "one2many", "Order Lines", relation="sale.order.line", relation_field="order_id"),
        _f("active", "boolean", "Active"),
    )


def _sale_order_line(version: int) -> ModelSpec:
    uom, taxes = line_field_names(version)
    display_types: Selection = (("line_section", "Section"), ("line_note", "Note"))
    if version >= 19:
        display_types = (*display_types[:1], ("line_subsection", "Subsection"), display_types[1])
    return _model(
        "sale.order.line",
        "Sales Order Line",
        "order_id, sequence, id",
        _m2o("order_id", "sale.order", "Order Reference", required=True),
        _f("sequence", "integer", "Sequence"),
        _m2o("product_id", "product.product", "Product"),
        _f("name", "text", "Description", required=True),
        _f("product_uom_qty", "float", "Quantity", required=True),
        _m2o(uom, "uom.uom", "Unit" if version >= 19 else "Unit of Measure"),
        Field(taxes, "many2many", "Taxes", relation="account.tax"),
        _f("price_unit", "float", "Unit Price", required=True),
        _f("discount", "float", "Discount (%)"),
        _f("price_subtotal", "monetary", "Subtotal", readonly=True),
        _f("price_tax", "float", "Total Tax", readonly=True),
        _f("price_total", "monetary", "Total", readonly=True),
        _f("qty_delivered", "float", "Delivery Quantity"),
        _f("qty_invoiced", "float", "Invoiced Quantity", readonly=True),
        _f(
            "state",
            "selection",
            "Order Status",
            selection=_sale_order(version).fields["state"].selection,
            readonly=True,
        ),
        _f(
            "display_type",
            "selection",
            "Display Type",
            selection=display_types,
            help="Technical field for UX purpose.",
        ),
        _m2o("currency_id", "res.currency", "Currency", readonly=True),
        _m2o("company_id", "res.company", "Company", readonly=True),
        _f("invoice_status", "selection", "Invoice Status", selection=INVOICE_STATUSES[1:], readonly=True),
    )


def _product_types(version: int) -> Selection:
    if version >= 18:
        return (("consu", "Goods"), ("service", "Service"), ("combo", "Combo"))
    return (("consu", "Consumable"), ("service", "Service"), ("product", "Storable Product"))


@functools.cache
def model_specs(version: int) -> Mapping[str, ModelSpec]:
    """Every model of the emulated Odoo `version`, by name."""
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"Odoo version must be between {MIN_VERSION} and {MAX_VERSION}, not {version}")
    specs = (
        _sale_order(version),
        _sale_order_line(version),
        _model(
            "res.partner",
            "Contact",
            "complete_name ASC, id DESC",
            _f("name", "char", "Name"),
            _f("complete_name", "char", "Complete Name", readonly=True),
            _f("is_company", "boolean", "Is a Company"),
            _m2o("parent_id", "res.partner", "Related Company"),
            _f("ref", "char", "Reference"),
            _f("email", "char", "Email"),
            _f("phone", "char", "Phone"),
            _f("street", "char", "Street"),
            _f("zip", "char", "Zip"),
            _f("city", "char", "City"),
            _f("customer_rank", "integer", "Customer Rank"),
            _m2o("company_id", "res.company", "Company"),
            _f("active", "boolean", "Active"),
        ),
        _model(
            "product.product",
            "Product Variant",
            "default_code, name, id",
            _f("name", "char", "Name", required=True),
            _f("default_code", "char", "Internal Reference"),
            _f("type", "selection", "Product Type", selection=_product_types(version), required=True),
            _f("list_price", "float", "Sales Price"),
            _f("standard_price", "float", "Cost"),
            _m2o("uom_id", "uom.uom", "Unit" if version >= 19 else "Unit of Measure", required=True),
            Field("taxes_id", "many2many", "Sales Taxes", relation="account.tax"),
            _f("barcode", "char", "Barcode"),
            _f("sale_ok", "boolean", "Can be Sold"),
            _f("active", "boolean", "Active"),
        ),
        _model(
            "res.users",
            "User",
            "name, login",
            _f("name", "char", "Name", required=True),
            _f("login", "char", "Login", required=True),
            _f("email", "char", "Email"),
            _m2o("company_id", "res.company", "Company", required=True),
            _f("share", "boolean", "Share User", readonly=True),
            _f("active", "boolean", "Active"),
        ),
        _model(
            "res.currency",
            "Currency",
            "active desc, name",
            _f("name", "char", "Currency", required=True),
            _f("full_name", "char", "Name"),
            _f("symbol", "char", "Symbol", required=True),
            _f("rounding", "float", "Rounding Factor"),
            _f("decimal_places", "integer", "Decimal Places", readonly=True),
            _f(
                "position",
                "selection",
                "Symbol Position",
                selection=(("after", "After Amount"), ("before", "Before Amount")),
            ),
            _f("active", "boolean", "Active"),
        ),
        _model(
            "res.company",
            "Companies",
            "sequence, name",
            _f("name", "char", "Company Name", required=True),
            _m2o("currency_id", "res.currency", "Currency", required=True),
            _f("sequence", "integer", "Sequence"),
            _f("active", "boolean", "Active"),
        ),
        _model(
            "uom.uom",
            "Product Unit of Measure",
            "sequence, id",
            _f("name", "char", "Unit Name", required=True),
            _f("sequence", "integer", "Sequence"),
            _f("rounding", "float", "Rounding Precision", required=True),
            _f("active", "boolean", "Active"),
        ),
        _model(
            "account.tax",
            "Tax",
            "sequence,id",
            _f("name", "char", "Tax Name", required=True),
            _f("amount", "float", "Amount", required=True),
            _f(
                "amount_type",
                "selection",
                "Tax Computation",
                selection=(
                    ("group", "Group of Taxes"),
                    ("fixed", "Fixed"),
                    ("percent", "Percentage"),
                    ("division", "Percentage Tax Included"),
                ),
            ),
            _f(
                "type_tax_use",
                "selection",
                "Tax Type",
                selection=(("sale", "Sales"), ("purchase", "Purchases"), ("none", "None")),
            ),
            _f("sequence", "integer", "Sequence"),
            _m2o("company_id", "res.company", "Company", required=True),
            _f("active", "boolean", "Active"),
        ),
    )
    return {spec.name: spec for spec in specs}


def first_line(text: str | None) -> str:
    return (text or "").split("\n", 1)[0]
