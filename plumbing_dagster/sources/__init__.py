"""Vendor sources. Each vendor is one package: client (auth, paging, retries), endpoints
(the streams it offers, turned into dlt resources by `dlt_source.build_dlt_source`) and an
emulator of its API for the sandbox and the tests. Nothing in here imports Dagster."""
