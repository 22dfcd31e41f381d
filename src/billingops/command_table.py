"""The commands of billingops, as data: read by the entry point (fast paths) and by the CLI (lazy loading)."""

from __future__ import annotations

# Every command: the modules that register it, and its one line in `billingops --help`. Command modules are
# imported when their command runs (or is completed), not at start-up: `--help` and every TAB of shell
# completion run this program, and importing all seventeen commands' modules costs more than the rest.
# tests/commands/test_cli.py checks that these lines match the commands' own help.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "deploy": (("deploy",), "Run the deployment checklist: preflight, init, plan, approval, apply, secrets, "
                            "migrations, rollout, verify."),
    "plan": (("plan",), "terraform init + plan, then a summary per resource type with dangerous changes highlighted."),
    "doctor": (("doctor",), "Preflight checks: terraform, credentials, tfvars, backend, image, state lock, DNS."),
    "rollout": (("rollout",), "Roll out an image: checked in the registry first, health-gated, rolled back when "
                              "the gate fails."),
    "rollback": (("rollout",), "Go back to the previous task definition / revision (or --to one), then verify the "
                               "health endpoint."),
    "locks": (("locks",), "List held terraform state locks, with holder, age and a liveness verdict."),
    "unlock": (("locks",), "Break the terraform state lock a dead deploy left behind, safely."),
    "migrate-cloud": (("migrate_cloud",), "Move the billing data (PostgreSQL, Redis) from one cloud to the other, "
                                          "verified. See runbooks/migrate-cloud.md."),
    "status": (("status",), "Show the environment's service, database, cache, state lock and last deploy."),
    "history": (("history",), "Past runs from the audit log with their step outcomes; --verify checks the hash "
                              "chain."),
    "drift": (("drift",), "Run a refresh-only plan and list every resource changed outside terraform (secrets "
                          "masked)."),
    "cost": (("cost",), "Estimate the environment's monthly cost from its tfvars and the dated price table."),
    "sandbox": (("sandbox",), "Manage the local AWS emulator (moto) used by `deploy --sandbox`."),
    "secrets": (("secrets",), "Seed, list and check the app's secrets (values are never shown)."),
    "runbook": (("runbook",), "On-call runbooks: list, read, and run them step by step."),
    "dr": (("dr",), "Disaster-recovery drills."),
    "db": (("db", "db_backups"), "Database migrations, backups and point-in-time restore."),
}
