"""The seed's environment table, asserted from the tfvars of both clouds so the values cannot drift.

| env     | multi_az | backup_retention_days | deletion_protection | min_capacity | max_capacity |
| prod    | true     | 30                    | true                | 2            | 10           |
| staging | false    | 7                     | false               | 1            | 5            |
| dev     | false    | 1                     | false               | 0 or 1       | 3            |
"""

from __future__ import annotations

import pytest

from .conftest import CLOUDS, tfvars

SEED = {
    "prod": {"multi_az": True, "backup_retention_days": 30, "deletion_protection": True, "min_capacity": {2},
             "max_capacity": 10},
    "staging": {"multi_az": False, "backup_retention_days": 7, "deletion_protection": False,
                "min_capacity": {1}, "max_capacity": 5},
    "dev": {"multi_az": False, "backup_retention_days": 1, "deletion_protection": False,
            "min_capacity": {0, 1}, "max_capacity": 3},
}


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("env", SEED)
def test_environment_matches_the_seed(cloud, env):
    values = tfvars(cloud, env)
    expected = SEED[env]
    assert values["environment"] == env
    assert values["multi_az"] is expected["multi_az"]
    assert values["backup_retention_days"] == expected["backup_retention_days"]
    assert values["deletion_protection"] is expected["deletion_protection"]
    assert values["min_capacity"] in expected["min_capacity"]
    assert values["max_capacity"] == expected["max_capacity"]


def test_final_snapshot_only_in_prod():
    assert {env: tfvars("aws", env)["final_snapshot"] for env in SEED} == {
        "prod": True, "staging": False, "dev": False}
