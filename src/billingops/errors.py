"""The one error hierarchy. Library code raises these; only cli.py maps them to exit codes.

Exit codes (documented in the README):
  0 ok, 1 a step failed, 2 usage or configuration error, 3 an external tool or cloud call failed,
  4 refused for safety, 130 interrupted.
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
EXIT_EXTERNAL = 3
EXIT_REFUSED = 4
EXIT_INTERRUPTED = 130


class BillingOpsError(Exception):
    """Base error: `message` says what failed and why, `hint` what to do next."""

    exit_code = EXIT_STEP_FAILED
    title = "billingops failed"

    def __init__(self, message: str, *, hint: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}

    def paragraph(self) -> str:
        text = self.message.rstrip()
        if self.hint:
            if not text.endswith((".", "!", "?", ":")):
                text += "."
            text += " " + self.hint.rstrip()
        return text


class UsageError(BillingOpsError):
    exit_code = EXIT_USAGE
    title = "invalid usage"


class ConfigError(BillingOpsError):
    exit_code = EXIT_USAGE
    title = "configuration error"


class StepFailed(BillingOpsError):
    exit_code = EXIT_STEP_FAILED
    title = "step failed"


class ExternalError(BillingOpsError):
    """An external tool (terraform, pg_dump, ...) or a cloud API call failed."""

    exit_code = EXIT_EXTERNAL
    title = "external call failed"


class ToolMissing(ExternalError):
    title = "required tool missing"


class CloudError(ExternalError):
    title = "cloud call failed"


class TerraformError(ExternalError):
    title = "terraform failed"


class Refused(BillingOpsError):
    """Refused for safety: a lock is held, approval is missing, a destructive change lacks consent."""

    exit_code = EXIT_REFUSED
    title = "refused for safety"


class StateLocked(Refused):
    title = "terraform state is locked"

    def __init__(self, message: str, *, lock_info: dict[str, Any] | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint, details={"lock": lock_info or {}})
        self.lock_info = lock_info or {}


class ApprovalRequired(Refused):
    title = "approval required"


class Interrupted(BillingOpsError):
    exit_code = EXIT_INTERRUPTED
    title = "interrupted"
