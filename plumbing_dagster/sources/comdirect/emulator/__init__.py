"""The comdirect emulator: the bank's OAuth server and REST API (`app`), the login and TAN state
machine with its lockout rules (`session`), over one customer's deterministic accounts and
transactions (`world`, made by `ledger`, written by `render`); `memory` keeps the bank's state
between processes for the sandbox, where every run starts its own emulator."""

from plumbing_dagster.sources.comdirect.emulator.app import ComdirectEmulator
from plumbing_dagster.sources.comdirect.emulator.world import ComdirectWorld

__all__ = ["ComdirectEmulator", "ComdirectWorld"]
