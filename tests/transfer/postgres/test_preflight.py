"""Preflight decisions that need no second server: missing extensions fail before any data moves."""

from __future__ import annotations

import pytest

from billingops.errors import StepFailed
from billingops.transfer.postgres.inspect import Inventory
from billingops.transfer.postgres.preflight import PgPreflight, require_extensions


def test_missing_extensions_fail_early_with_the_list():
    checked = PgPreflight(
        Inventory("15.4", "billing", "app", extensions=["pgcrypto", "postgis", "timescaledb"]),
        target_objects=[],
        missing_extensions=["postgis", "timescaledb"],
        missing_roles=[],
    )
    with pytest.raises(StepFailed) as err:
        require_extensions(checked)
    assert "postgis, timescaledb" in err.value.message and "No data was moved" in err.value.message
    assert err.value.exit_code == 1


def test_available_extensions_pass():
    require_extensions(PgPreflight(Inventory("15.4", "billing", "app", extensions=["pgcrypto"]), [], [], []))
