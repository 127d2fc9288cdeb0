"""An emulator world's clock: fixed when given, fixed for every world by `fixed_horizon` while it
lasts (the vendor-contract tests), else the real time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from plumbing_dagster.kit.emulator import World, fixed_horizon

HORIZON = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
OWN = datetime(2026, 2, 1, tzinfo=UTC)


def test_a_fixed_horizon_holds_for_worlds_without_a_clock_of_their_own_while_it_lasts() -> None:
    real, own = World("w", 1, date(2026, 1, 1)), World("w", 1, date(2026, 1, 1), now=OWN)
    with fixed_horizon(HORIZON):
        assert real.now == HORIZON
        assert own.now == OWN
        with fixed_horizon(HORIZON + timedelta(days=1)):
            assert real.now == HORIZON + timedelta(days=1)
        assert real.now == HORIZON
    assert abs(real.now - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(ValueError, match="timezone-aware"), fixed_horizon(datetime(2026, 3, 15)):
        pass
