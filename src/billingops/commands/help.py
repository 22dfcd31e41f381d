"""Help that teaches: an Examples section on every command, and placeholders that read as words.

`polish(command, path)` runs once on each click command cli.load_command builds: it gives every option that
takes a value a word placeholder (IMAGE, URL, N) instead of Typer's type labels (<str>, <int range>), drops the
type label after argument names, and adds the command's examples as the help's last section.
"""

from __future__ import annotations

from typing import Any

# Placeholders by long flag; any other option gets its flag in capitals (--workspace WORKSPACE).
METAVARS = {
    "--only": "STORE", "--source-postgres": "URL", "--target-postgres": "URL", "--source-redis": "URL",
    "--target-redis": "URL", "--source-redis-ca": "FILE", "--target-redis-ca": "FILE", "--jobs": "N",
    "--source-sslrootcert": "FILE", "--target-sslrootcert": "FILE", "--sslrootcert": "FILE",
    "--limit": "N", "--split-larger-than": "MB", "--var": "NAME=VALUE", "--from-step": "N", "--db-instance":
    "INSTANCE", "--as": "NAME", "--check-database-url": "URL", "--database-url": "URL", "--url": "URL",
    "--task-command": "COMMAND", "--task-definition": "FAMILY[:REV]", "--security-group": "GROUP",
    "--to": "TIME", "--cache-id": "ID", "--image": "IMAGE",
}

E = "billingops "
EXAMPLES: dict[str, tuple[str, ...]] = {
    "deploy": (E + "deploy --env staging --image v1.4.2", E + "deploy --env prod --dry-run",
               E + "deploy --env prod --resume", E + "deploy --env dev --only plan --lock-timeout 5m"),
    "plan": (E + "plan --env prod", E + "plan --env dev --lock-timeout 2m --json"),
    "doctor": (E + "doctor --env prod", E + "doctor --env staging --image v1.4.2"),
    "rollout": (E + "rollout --env staging --image v1.4.2",
                E + "rollout --env prod --image v1.4.2 --timeout 15m --dry-run",
                E + "rollout --env prod --cloud gcp --image v1.4.2 --canary 10,50,100"),
    "rollback": (E + "rollback --env prod", E + "rollback --env prod --to billing-prod:41 --timeout 10m"),
    "locks": (E + "locks --env prod", E + "locks --all --json"),
    "unlock": (E + "unlock --env prod --lock-id 5f1c... --older-than 30m",
               E + "unlock --env dev --deploy-lock"),
    "migrate-cloud": (E + "migrate-cloud aws gcp --env staging --dry-run",
                      E + "migrate-cloud aws gcp --env prod --verify full --jobs 4", ),
    "status": (E + "status --env prod", E + "status --env staging --watch --interval 30s"),
    "history": (E + "history --env prod", E + "history --env prod --limit 5 --json", E + "history --verify"),
    "drift": (E + "drift --env prod", E + "drift --env staging --json"),
    "cost": (E + "cost --env prod", E + "cost --env staging --cloud gcp --json"),
    "sandbox": (E + "sandbox up", E + "deploy --env dev --sandbox", E + "sandbox down"),
    "sandbox up": (E + "sandbox up",),
    "sandbox down": (E + "sandbox down",),
    "sandbox status": (E + "sandbox status --json",),
    "secrets": (E + "secrets list --env prod", E + "secrets seed --env staging --dry-run"),
    "secrets seed": (E + "secrets seed --env staging --dry-run",
                     "BILLINGOPS_SECRET_STRIPE_API_KEY=... " + E + "secrets seed --env prod",
                     E + "secrets seed --env prod --file prod.secrets", E + "secrets seed --env prod --rotate "
                     "SESSION_KEY"),
    "secrets list": (E + "secrets list --env prod", E + "secrets list --env prod --json"),
    "secrets check": (E + "secrets check --env prod",),
    "runbook": (E + "runbook list", E + "runbook show state-lock", E + "runbook run state-lock --env prod --dry-run"),
    "runbook list": (E + "runbook list", E + "runbook list --json"),
    "runbook show": (E + "runbook show database-down", E + "runbook show state-lock | less"),
    "runbook run": (E + "runbook run state-lock --env prod --dry-run",
                    E + "runbook run state-lock --env prod --var LOCK_ID=5f1c...",
                    E + "runbook run rollback --env prod --from-step 3"),
    "dr": (E + "dr drill --env staging",),
    "dr drill": (E + "dr drill --env staging", E + "dr drill --env staging --keep --timeout 2h"),
    "db": (E + "db status --env prod", E + "db migrate --env prod --dry-run", E + "db backups --env prod"),
    "db migrate": (E + "db migrate --env staging --dry-run", E + "db migrate --env prod --task --lock-wait 5m",
                   E + "db migrate --env dev --database-url postgresql://localhost/billing"),
    "db status": (E + "db status --env prod", E + "db status --env dev --via 127.0.0.1:5433"),
    "db backups": (E + "db backups --env prod", E + "db backups --env prod --json"),
    "db restore": (E + "db restore --env prod --to 2026-03-01T09:30:00Z --as billing-prod-restore",
                   E + "db restore --env staging --to 2026-03-01T09:30:00Z --as billing-copy --timeout 2h"),
}


def polish(command: Any, path: str) -> None:
    """Word placeholders and an Examples section for `command` (named `path`) and its subcommands."""
    examples = EXAMPLES.get(path)
    if examples and not command.epilog:
        # \b keeps click from re-wrapping the example lines.
        command.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)
    for param in command.params:
        if param.param_type_name == "argument":
            param.display_type_rich = lambda ctx: None  # the name (its metavar) is the placeholder
        elif param.metavar is None and not getattr(param, "is_flag", False) and not getattr(param, "count", False):
            long = max(param.opts, key=len)
            param.metavar = METAVARS.get(long) or long.lstrip("-").upper().replace("-", "_")
        if param.metavar == "DURATION" and isinstance(param.default, int | float) and param.show_default is not False:
            param.show_default = _duration_text(float(param.default))  # 15m, not 900.0 (seconds or minutes?)
    for name, sub in (getattr(command, "commands", None) or {}).items():
        polish(sub, f"{path} {name}")


def _duration_text(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
