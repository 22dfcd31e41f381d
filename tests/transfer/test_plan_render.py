"""The result views: a failed verification is impossible to miss, and the cutover steps name both clouds."""

from __future__ import annotations

import io

from rich.console import Console

from billingops.commands.migrate_cloud import render_result
from billingops.console import Output
from billingops.transfer import plan


def rendered(doc: dict) -> str:
    output = Output(json_mode=False, color=False)
    output.out = Console(file=io.StringIO(), width=200, no_color=True)
    render_result(output, doc)
    return output.out.file.getvalue()


def test_failed_verification_is_shown_per_table_and_overall():
    doc = {
        "verify": "full",
        "ok": False,
        "run_id": "r1",
        "cutover": plan.cutover_steps("aws", "gcp", "prod"),
        "postgres": {
            "seconds": {"data": 1.0},
            "skipped": [],
            "roles_missing_on_target": ["reporting"],
            "verification": {
                "tables": [
                    {
                        "table": "billing.payments",
                        "source_rows": 10,
                        "target_rows": 10,
                        "checksum": "MISMATCH",
                        "ok": False,
                    },
                    {"table": "billing.plans", "source_rows": 4, "target_rows": 4, "checksum": "match", "ok": True},
                ],
                "sequences": 3,
                "sequence_mismatches": [],
                "large_objects": 0,
                "large_object_mismatches": [],
            },
        },
        "redis": {"verification": [{"db": 0, "ok": True, "source_keys": 5, "target_keys": 5, "mismatches": []}]},
    }
    text = rendered(doc)
    assert "billing.payments" in text and "MISMATCH" in text and "FAIL" in text
    assert "VERIFICATION FAILED" in text and "reporting" in text
    assert "Switch DNS (prod domain) to the gcp load balancer" in text


def test_cutover_steps_for_the_way_back():
    steps = plan.cutover_steps("gcp", "aws", "staging")
    assert steps[0].startswith("Stop the writers on gcp")
    assert any("AWS Secrets Manager" in step for step in steps)
