"""A throwaway project whose dev environment is a small terraform module (terraform_data only, local backend),
so the checklist runs real terraform with no provider download; and readers of its run journals. Shared by the
deploy, runs, locks and security tests (the `project` fixture is in tests/services/deploy/conftest.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

MODULE = """
terraform {
  backend "local" {}
}

variable "environment" {
  type = string
}

variable "sleep_seconds" {
  type    = number
  default = 0
}

variable "marker" {
  type    = string
  default = ""
}

resource "terraform_data" "app" {
  input = "app-${var.environment}"
}

resource "terraform_data" "slow" {
  triggers_replace = [var.sleep_seconds]
  provisioner "local-exec" {
    command = <<-EOT
      sleep ${var.sleep_seconds}
      if [ -n '${var.marker}' ] && [ -f '${var.marker}' ]; then echo injected failure >&2; exit 1; fi
    EOT
  }
}

output "service_name" {
  value = terraform_data.app.output
}
"""


def make_project(root: Path, *, tfvars: str = 'environment = "dev"\n', extra_toml: str = "") -> Path:
    (root / "tf" / "envs").mkdir(parents=True, exist_ok=True)
    (root / "tf" / "main.tf").write_text(MODULE)
    (root / "tf" / "envs" / "dev.tfvars").write_text(tfvars)
    (root / "tf" / "envs" / "dev.backend.hcl").write_text(f'path = "{root / "state" / "dev.tfstate"}"\n')
    (root / "billingops.toml").write_text(textwrap.dedent("""
        [project]
        state_dir = ".billingops"

        [environments.dev]
        cloud = "aws"
        terraform_dir = "tf"
        domain_name = "billing.dev.example.com"
        """) + extra_toml)
    return root


def journals(project: Path) -> list[dict]:
    runs = project / ".billingops" / "runs"
    return [json.loads(p.read_text()) for p in sorted(runs.glob("*.json"))]


def step_outcomes(journal: dict) -> dict[str, str]:
    return {s["name"]: s["outcome"] for s in journal["steps"]}
