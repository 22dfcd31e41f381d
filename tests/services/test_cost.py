"""cost: prod estimates match the seed's component list within the price table; sizing comes from tfvars."""

from __future__ import annotations

import json

import pytest

from billingops.config import load_settings
from billingops.services.cost import _quantity, estimate, load_prices, read_sizing

# The seed's figures are rounded and its usage assumptions unstated; the price table's prod assumptions are
# calibrated on it. Each component must land within 20% of the seed, and the total within 10%.
COMPONENT_TOLERANCE = 0.20
TOTAL_TOLERANCE = 0.10
SEED = {
    "aws": (
        505,
        {"database": 120, "cache": 100, "compute": 150, "load_balancer_network": 115, "monitoring": 20},
    ),
    "gcp": (
        648,
        {"database": 280, "cache": 200, "compute": 120, "load_balancer_network": 18, "monitoring": 30},
    ),
}


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_prod_estimate_matches_the_seed(run_cli, cloud):
    from tests.conftest import REPO

    result = run_cli("cost", "--env", "prod", "--cloud", cloud, "--json", cwd=REPO)
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)["estimates"][0]
    total, components = SEED[cloud]
    assert item["complete"] and item["reference_total"] == total
    for line in item["lines"]:
        expected = components[line["component"]]
        assert line["reference"] == expected
        assert abs(line["monthly"] - expected) <= COMPONENT_TOLERANCE * expected, line
    assert abs(item["total"] - total) <= TOTAL_TOLERANCE * total


def test_both_clouds_side_by_side(run_cli):
    from tests.conftest import REPO

    result = run_cli("cost", "--env", "prod", "--cloud", "both", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "aws $/month" in result.stdout and "gcp $/month" in result.stdout and "$505" in result.stdout
    # the table's title goes to stderr when stdout is a pipe (plain rows there)
    assert "2025-06-01" in result.stdout + result.stderr or "prices of" in result.stdout + result.stderr


def _project(tmp_path, tfvars: str, cloud: str = "aws"):
    (tmp_path / "tf" / "envs").mkdir(parents=True)
    (tmp_path / "tf" / "envs" / "staging.tfvars").write_text(tfvars)
    (tmp_path / "billingops.toml").write_text(
        f'[environments.staging]\ncloud = "{cloud}"\nterraform_dir = "tf"\n'
    )
    return load_settings(tmp_path / "billingops.toml").env("staging")


def test_sizing_follows_the_tfvars(tmp_path):
    env = _project(
        tmp_path,
        'multi_az = true\nmin_capacity = 3\nmax_capacity = 4\ndb_instance_class = "db.t3.large"\n'
        'cache_node_type = "cache.t3.small"\ntask_cpu = 2048\ntask_memory = 4096\n',
    )
    sizing, _ = read_sizing(env)
    assert sizing["db_instance_class"] == "db.t3.large"  # the HCL quotes are gone
    lines = {line.component: line for line in estimate(env, sizing, load_prices()).lines}
    assert lines["database"].monthly == pytest.approx(0.145 * 2 * 730 + 50 * 0.115 * 2, abs=0.01)
    assert lines["cache"].monthly == pytest.approx(0.034 * 2 * 730, abs=0.01)
    assert lines["compute"].monthly == pytest.approx(3 * 730 * (2 * 0.04048 + 4 * 0.004445), abs=0.01)
    assert lines["database"].reference is None  # the seed's figures are for prod only


def test_unknown_instance_class_gives_a_partial_estimate(run_cli, tmp_path):
    _project(tmp_path, 'db_instance_class = "db.x9.huge"\n')
    result = run_cli("cost", "--env", "staging", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)["estimates"][0]
    assert item["complete"] is False and "no price for db.x9.huge" in item["lines"][0]["basis"]
    assert "partial" in result.stderr


def test_gcp_sizing_and_quantities(tmp_path):
    env = _project(
        tmp_path,
        'multi_az = false\ncpu = "1000m"\nmemory = "512Mi"\ndb_tier = "db-custom-1-3840"\n'
        "db_disk_size_gb = 20\nredis_memory_size_gb = 5\n",
        cloud="gcp",
    )
    sizing, _ = read_sizing(env)
    lines = {line.component: line for line in estimate(env, sizing, load_prices()).lines}
    assert lines["cache"].monthly == pytest.approx(5 * 0.027 * 730, abs=0.01)  # Basic, M2
    assert "zonal" in lines["database"].basis
    assert _quantity("2Gi", binary=True) == 2.0 and _quantity("1000m") == 1.0 and _quantity("2") == 2.0


def test_bad_tfvars_is_a_config_error(run_cli, tmp_path):
    _project(tmp_path, "db_instance_class = \n")
    result = run_cli("cost", "--env", "staging", cwd=tmp_path)
    assert result.returncode == 2 and "is not valid HCL" in result.stderr and "Traceback" not in result.stderr
    with open(tmp_path / "billingops.toml", "a") as fh:
        fh.write('[environments.dev]\nterraform_dir = "tf"\n')
    missing = run_cli("cost", "--env", "dev", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
