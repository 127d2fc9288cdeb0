"""Warehouse IO managers (DuckDB, Postgres) on one client and one set of type handlers; each
warehouse class names its own (`Warehouse.io_manager`)."""


def io_manager_key(warehouse: str) -> str:
    return f"{warehouse}_io_manager"
