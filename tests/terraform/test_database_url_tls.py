"""Issue 13, point 5: the terraform-built DATABASE_URL says how TLS is checked (never libpq's silent `prefer`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"

CASES = {"aws": ("database_ca_bundle_path", "verify-full"), "gcp": ("database_ca_cert_path", "verify-ca")}


@pytest.mark.parametrize("cloud", sorted(CASES))
def test_database_url_carries_sslmode(cloud):
    variable, verified = CASES[cloud]
    text = (TERRAFORM / cloud / "modules" / "database" / "main.tf").read_text()
    assert '"postgresql://%s:%s@%s:%d/%s?%s"' in text, "DATABASE_URL must end with the TLS query"
    line = re.search(r"database_tls\s*=\s*(.+)", text)
    assert line, "no database_tls local"
    expr = line.group(1)
    assert f'var.{variable} == "" ? "sslmode=require"' in expr
    assert f'"sslmode={verified}&sslrootcert=${{var.{variable}}}"' in expr
    root_main = (TERRAFORM / cloud / "main.tf").read_text()
    assert f"{variable} = var.{variable}" in re.sub(r"\s+", " ", root_main)
