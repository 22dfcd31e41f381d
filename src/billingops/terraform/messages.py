"""What terraform prints, read as data: the -json event stream, its text diagnostics, the lock info of a
state-lock error, and the BillingOps errors they become. No process is run here (runner.py runs terraform)."""

from __future__ import annotations

import json
import re
from typing import Any

from billingops import redact
from billingops.errors import StateLocked, TerraformError

_LOCK_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):\s*(.*)$", re.MULTILINE)
NEEDS_INIT = re.compile(r"Backend initialization required|Backend configuration changed|run \"?terraform init",
                        re.I)


def parse_lock_info(text: str) -> dict[str, str]:
    """The 'Lock Info:' block terraform prints with a state-lock error, as a dict."""
    return {key: value.strip() for key, value in _LOCK_FIELD.findall(text)}


def diagnostic_error(errors: list[dict[str, Any]], operation: str, env_name: str) -> Exception:
    """The error for terraform's -json error diagnostics: a state lock, or the first five, each with its address."""
    for diag in errors:
        if "state lock" in diag.get("summary", "").lower():
            return lock_error(diag.get("detail", ""), env_name)
    parts = []
    for diag in errors[:5]:
        address = diag.get("address") or (diag.get("range") or {}).get("filename", "")
        where = f" ({address})" if address else ""
        detail = " ".join(diag.get("detail", "").split())[:600]
        parts.append(f"{diag.get('summary', 'error')}{where}: {detail}".rstrip(": "))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return TerraformError(
        f"terraform {operation} failed: " + "; ".join(parts) + more,
        hint="Fix the cause above (configuration, credentials or the cloud's answer), then retry or resume.",
        details={"diagnostics": [{"summary": d.get("summary"), "address": d.get("address")} for d in errors]},
    )


def text_error(text: str, operation: str) -> TerraformError:
    """The error for a failed command's text output (init, show, output): its first Error: block, else the
    last lines that are not warnings."""
    errors = error_blocks(text)
    if errors:
        headline = " ".join(errors[0].split())
        more = f" (and {len(errors) - 1} more error(s); -v shows them)" if len(errors) > 1 else ""
        message = f"terraform {operation} failed: {redact.redact(headline)}{more}"
    else:
        kept = [line for line in _without_warnings(text).strip().splitlines() if line.strip()]
        message = f"terraform {operation} failed: {redact.redact(' '.join(kept[-15:])) or 'no output'}"
    return TerraformError(
        message, hint="Fix the cause above, then retry (run with -v to see terraform's whole output)."
    )


def lock_error(text: str, env_name: str) -> StateLocked:
    info = parse_lock_info(text)
    env = env_name or "ENV"
    who = info.get("Who", "unknown holder")
    created = info.get("Created", "unknown time")
    return StateLocked(
        f"The terraform state is locked by {who} (operation {info.get('Operation', '?')}, since {created}, "
        f"lock id {info.get('ID', '?')}, terraform {info.get('Version', '?')}, path {info.get('Path', '?')}).",
        lock_info=info,
        hint=(f"If that run is gone, check and break the lock with `billingops unlock --env {env}"
              f"{' --lock-id ' + info['ID'] if info.get('ID') else ''}`; "
              f"to wait for a live holder instead, pass --lock-timeout 10m. Then resume with "
              f"`billingops deploy --env {env} --resume`."),
    )


_BLOCK_START = re.compile(r"^[│╷╵\s]*(Error|Warning): ", re.M)


def _blocks(text: str) -> list[tuple[str, str]]:
    """terraform's human diagnostics ("Error: summary" / "Warning: summary", then detail) as (kind, text)."""
    clean = "\n".join(line.lstrip("│╷╵ ").rstrip() for line in text.splitlines())
    starts = list(_BLOCK_START.finditer(clean))
    return [(m.group(1), clean[m.start():(starts[i + 1].start() if i + 1 < len(starts) else len(clean))]
             .strip()) for i, m in enumerate(starts)]


def error_blocks(text: str) -> list[str]:
    """The Error: diagnostics of terraform's text output, each whole (summary, address line, detail), first
    first: warnings about our own backend files or a missing CLI config are not what the operator must fix."""
    errors = [block for kind, block in _blocks(text) if kind == "Error"]
    # init wraps configuration errors in a generic preamble error: the specific ones come first.
    specific = [block for block in errors if not block.startswith("Error: Terraform encountered problems")]
    return specific or errors


def _without_warnings(text: str) -> str:
    warnings = [block for kind, block in _blocks(text) if kind == "Warning"]
    clean = "\n".join(line.lstrip("│╷╵ ").rstrip() for line in text.splitlines())
    for block in warnings:
        clean = clean.replace(block, "")
    return clean


def parse_event(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def describe_event(event: dict[str, Any]) -> str | None:
    """A one-line, human text for a -json event worth showing; None for noise."""
    kind = event.get("type")
    hook = event.get("hook", {}) or {}
    resource = (hook.get("resource") or {}).get("addr") or (event.get("change", {}).get("resource") or {}).get("addr")
    if kind == "planned_change":
        return f"plan: {event['change'].get('action')} {resource}"
    if kind == "apply_start":
        return f"{hook.get('action', 'apply')}: {resource} ..."
    if kind == "apply_progress":
        return f"{hook.get('action', 'apply')}: {resource} still working ({hook.get('elapsed_seconds', 0)}s)"
    if kind == "apply_complete":
        return f"{hook.get('action', 'apply')}: {resource} done ({hook.get('elapsed_seconds', 0)}s)"
    if kind == "apply_errored":
        return f"failed: {resource}"
    if kind == "change_summary":
        return event.get("@message")
    return None
