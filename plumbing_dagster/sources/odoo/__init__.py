"""Odoo (seed 004): ERP sales orders and their lines through Odoo's external APIs — JSON-RPC
(`/jsonrpc`, every version) and JSON-2 (`/json/2/<model>/<method>`, Odoo 19+).

For now this package holds only the emulator (`emulator/`): a deterministic Odoo for the sandbox
and the tests, which the client will be written against. It defines no `VENDOR` yet, so the
registry does not treat Odoo as a live vendor.
"""
