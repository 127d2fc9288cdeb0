"""The stream contract: which types a field has where, and records shaped into Arrow by it."""

from plumbing_dagster.contract.arrow import (
    VIOLATIONS_COLUMN,
    ArrowPageParser,
    arrow_parsable,
    landing_schema,
    records_to_table,
    value_at,
)
from plumbing_dagster.contract.types import CONTRACT_TYPES, ContractType, contract_type, landing_type

__all__ = [
    "CONTRACT_TYPES",
    "VIOLATIONS_COLUMN",
    "ArrowPageParser",
    "ContractType",
    "arrow_parsable",
    "contract_type",
    "landing_schema",
    "landing_type",
    "records_to_table",
    "value_at",
]
