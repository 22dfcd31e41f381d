"""Monthly cost estimate from an environment's tfvars sizing and the dated price table in data/prices.toml.

Sizing (instance classes, tiers, counts, HA) comes from the tfvars, with the module's variable defaults for
anything the tfvars leave out; usage that tfvars cannot tell (traffic, logs, busy time) comes from the
price table's [assumptions.<env>], calibrated for prod on the seed's cost section.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops.config import EnvConfig
from billingops.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from billingops.session import Session

log = logging.getLogger(__name__)

COMPONENTS = ("database", "cache", "compute", "load_balancer_network", "monitoring")


@dataclass
class Line:
    component: str
    monthly: float | None  # None: no price in the table for this sizing
    basis: str  # how it was computed, in words
    reference: float | None = None  # the seed's figure (prod only)


@dataclass
class Estimate:
    env: str
    cloud: str
    region: str
    price_date: str
    sizing_source: str
    lines: list[Line] = field(default_factory=list)
    reference_total: float | None = None
    total: float = 0.0  # the lines' sum; set by estimate() once the lines are known
    complete: bool = True  # every line has a price

    def summarise(self) -> None:
        self.total = round(sum(line.monthly or 0.0 for line in self.lines), 2)
        self.complete = all(line.monthly is not None for line in self.lines)


@dataclass
class CostReport:
    """`billingops cost`: one estimate per cloud asked for."""

    estimates: list[Estimate] = field(default_factory=list)


def estimate_costs(session: Session, cloud: str | None = None) -> CostReport:
    """Estimate the environment's monthly cost on `cloud` (aws, gcp, both; None: its own) from its tfvars."""
    if cloud not in (None, "aws", "gcp", "both"):
        raise UsageError(f"--cloud {cloud!r} is not aws, gcp or both.", hint="Pass --cloud aws|gcp|both.")
    prices = load_prices()
    clouds = ["aws", "gcp"] if cloud == "both" else [cloud]
    estimates = []
    for name in clouds:
        env = session.settings.env(session.env_name, name)
        sizing, source = read_sizing(env)
        estimates.append(estimate(env, sizing, prices, source))
    for item in estimates:
        if not item.complete:
            session.ui.warn(
                f"The {item.cloud} estimate is partial: a size in {item.sizing_source} has no price "
                "in the table (see the basis column)."
            )
    return CostReport(estimates)


def load_prices(path: Path | None = None) -> dict[str, Any]:
    try:
        if path is not None:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        return tomllib.loads(
            resources.files("billingops.data").joinpath("prices.toml").read_text(encoding="utf-8")
        )
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read the price table: {exc}.", hint="Reinstall billingops.") from None


def read_sizing(env: EnvConfig) -> tuple[dict[str, Any], str]:
    """The module's variable defaults overlaid with the env's tfvars; (values, where they came from)."""
    from billingops.terraform import hcl

    values: dict[str, Any] = {}
    variables = env.terraform_dir / "variables.tf"
    if variables.is_file():
        for block in hcl.load_file(variables).get("variable", []):
            for name, spec in block.items():
                if isinstance(spec, dict) and "default" in spec:
                    values[name] = spec["default"]
    if not env.tfvars_path.is_file():
        raise ConfigError(
            f"The tfvars file {env.tfvars_path} for {env.name} ({env.cloud}) does not exist.",
            hint="Run from the project root or set terraform_dir in billingops.toml.",
        )
    values.update(hcl.load_file(env.tfvars_path))
    return values, str(env.tfvars_path)


def estimate(
    env: EnvConfig, sizing: dict[str, Any], prices: dict[str, Any], sizing_source: str = ""
) -> Estimate:
    assumptions = prices["assumptions"].get(env.name) or prices["assumptions"]["prod"]
    hours = float(prices["hours_per_month"])
    table = prices[env.cloud]
    result = Estimate(
        env=env.name,
        cloud=env.cloud,
        region=table["region"],
        price_date=prices["date"],
        sizing_source=sizing_source,
    )
    ha = _bool(sizing.get("multi_az", env.multi_az))
    low = int(sizing.get("min_capacity", env.min_capacity))
    high = int(sizing.get("max_capacity", env.max_capacity))
    result.lines = _LINE_BUILDERS[env.cloud](sizing, table, assumptions, hours, ha, low, high)
    if env.name == "prod":
        reference = prices["reference"][env.cloud]
        result.reference_total = float(reference["total"])
        for line in result.lines:
            line.reference = float(reference[line.component])
    result.summarise()
    return result


def _aws_lines(
    s: dict[str, Any], p: dict[str, Any], a: dict[str, Any], hours: float, ha: bool, low: int, high: int
) -> list[Line]:
    copies = 2 if ha else 1
    db_class = s.get("db_instance_class", "db.t3.medium")
    storage = float(s.get("db_allocated_storage", 50))
    db_hour = p["rds_instance_hour"].get(db_class)
    database = (
        None if db_hour is None else db_hour * copies * hours + storage * p["rds_storage_gb_month"] * copies
    )
    node = s.get("cache_node_type", "cache.t3.medium")
    cache_hour = p["cache_node_hour"].get(node)
    enable_cache = _bool(s.get("enable_cache", True))
    cache = 0.0 if not enable_cache else (None if cache_hour is None else cache_hour * copies * hours)
    vcpu = float(s.get("task_cpu", 512)) / 1024
    memory_gb = float(s.get("task_memory", 1024)) / 1024
    tasks = min(max(low * a["avg_tasks_factor"], low, 1), high)
    compute = tasks * hours * (vcpu * p["fargate_vcpu_hour"] + memory_gb * p["fargate_gb_hour"])
    nats = int(s.get("az_count", 2)) if ha else 1
    network = (
        p["alb_hour"] * hours
        + p["alb_lcu_hour"] * a["alb_lcus"] * hours
        + p["nat_gateway_hour"] * nats * hours
        + (p["nat_gateway_gb"] + p["data_transfer_out_gb"]) * a["data_transfer_gb"]
    )
    monitoring = (
        a["log_ingest_gb"] * p["cloudwatch_logs_ingest_gb"]
        + a["log_stored_gb"] * p["cloudwatch_logs_storage_gb_month"]
        + a["alarms"] * p["cloudwatch_alarm_month"]
        + a["dashboards"] * p["cloudwatch_dashboard_month"]
        + a["custom_metrics"] * p["cloudwatch_metric_month"]
    )
    ha_text = "Multi-AZ" if ha else "Single-AZ"
    return [
        Line(
            "database",
            _round(database),
            f"RDS {db_class} {ha_text}, {storage:.0f} GB storage"
            + ("" if db_hour else f" (no price for {db_class} in the table)"),
        ),
        Line(
            "cache",
            _round(cache),
            "cache disabled"
            if not enable_cache
            else f"ElastiCache {node} x{copies}"
            + ("" if cache_hour else f" (no price for {node} in the table)"),
        ),
        Line(
            "compute",
            _round(compute),
            f"Fargate {vcpu:g} vCPU / {memory_gb:g} GB, avg {tasks:g} tasks ({low}-{high})",
        ),
        Line(
            "load_balancer_network",
            _round(network),
            f"ALB + {a['alb_lcus']} LCU, {nats} NAT gateway(s), {a['data_transfer_gb']} GB out",
        ),
        Line(
            "monitoring",
            _round(monitoring),
            f"CloudWatch: {a['log_ingest_gb']} GB logs, {a['alarms']} alarms",
        ),
    ]


def _gcp_lines(
    s: dict[str, Any], p: dict[str, Any], a: dict[str, Any], hours: float, ha: bool, low: int, high: int
) -> list[Line]:
    copies = 2 if ha else 1
    tier = str(s.get("db_tier", "db-custom-2-7680"))
    match = re.fullmatch(r"db-custom-(\d+)-(\d+)", tier)
    disk = float(s.get("db_disk_size_gb", 100))
    database = None
    if match:
        vcpus, memory_gb = int(match.group(1)), int(match.group(2)) / 1024
        database = (
            copies * hours * (vcpus * p["cloudsql_vcpu_hour"] + memory_gb * p["cloudsql_memory_gb_hour"])
            + disk * p["cloudsql_ssd_gb_month"] * copies
            + disk * p["cloudsql_backup_gb_month"]
        )
    redis_gb = float(s.get("redis_memory_size_gb", 4))
    capacity = (
        "M1"
        if redis_gb <= 4
        else "M2"
        if redis_gb <= 10
        else "M3"
        if redis_gb <= 35
        else "M4"
        if redis_gb <= 100
        else "M5"
    )
    redis_prices = p["memorystore_standard_gb_hour" if ha else "memorystore_basic_gb_hour"]
    cache = redis_gb * redis_prices[capacity] * hours
    cpu = _quantity(s.get("cpu", "1"))
    memory_gib = _quantity(s.get("memory", "512Mi"), binary=True)
    compute = (
        a["cloud_run_busy_hours"]
        * 3600
        * (cpu * p["cloud_run_vcpu_second"] + memory_gib * p["cloud_run_gib_second"])
    )
    network = p["lb_forwarding_rule_hour"] * hours + p["lb_data_processed_gb"] * a["lb_data_gb"]
    logs = max(a["gcp_log_ingest_gib"] - p["logging_free_gib"], 0) * p["logging_ingest_gib"]
    monitoring = logs + (p["monitoring_month"] if a["alarms"] else 0.0)
    return [
        Line(
            "database",
            _round(database),
            f"Cloud SQL {tier} {'HA (regional)' if ha else 'zonal'}, {disk:.0f} GB SSD"
            + ("" if match else f" (cannot price tier {tier}: only db-custom-CPU-MB is modelled)"),
        ),
        Line(
            "cache",
            _round(cache),
            f"Memorystore {'Standard HA' if ha else 'Basic'} {redis_gb:g} GB ({capacity})",
        ),
        Line(
            "compute",
            _round(compute),
            f"Cloud Run {cpu:g} vCPU / {memory_gib:g} GiB, "
            f"{a['cloud_run_busy_hours']} busy instance-hours ({low}-{high} instances)",
        ),
        Line("load_balancer_network", _round(network), "1 forwarding rule + data processed"),
        Line("monitoring", _round(monitoring), f"Cloud Logging {a['gcp_log_ingest_gib']} GiB + Monitoring"),
    ]


def _quantity(value: Any, *, binary: bool = False) -> float:
    """Kubernetes-style quantities as Cloud Run takes them: "2", "1000m", "512Mi", "2Gi", "1G"."""
    text = str(value).strip()
    units = {
        "m": 0.001,
        "Ki": 1 / 1024**2,
        "Mi": 1 / 1024,
        "Gi": 1.0,
        "K": 1e3 / 1024**3,
        "M": 1e6 / 1024**3,
        "G": 1e9 / 1024**3,
    }
    match = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]*)", text)
    if not match or (match.group(2) and match.group(2) not in units):
        raise ConfigError(
            f"Cannot read the quantity {value!r} from tfvars.", hint="Use values like 2, 1000m, 2Gi."
        )
    number, unit = float(match.group(1)), match.group(2)
    if unit == "m" and not binary:
        return number / 1000
    return number * units[unit] if unit else number


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# The price table of each cloud has its own components; one builder per cloud.
_LINE_BUILDERS = {"aws": _aws_lines, "gcp": _gcp_lines}
