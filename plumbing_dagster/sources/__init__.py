"""Vendor sources. Each vendor is one package: its connection settings, its endpoints (the streams
it offers, each with its facts), its client (on the vendor kit), its emulator (app + world) and
the marts it owns; `VENDOR` in its `__init__.py`. Nothing in here imports Dagster."""
