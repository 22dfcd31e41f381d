"""The invocation a use case runs in: settings resolved once, the environment chosen, the operator's UI.

Commands build it from their options (commands/common.py adds the Output the edge renders with);
use cases receive it and never see Typer or Rich.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billingops.config import EnvConfig, Settings
    from billingops.runs.audit import AuditLog
    from billingops.ui import UI


@dataclass(kw_only=True)
class Session:
    settings: Settings
    ui: UI
    env_name: str | None
    cloud: str | None
    yes: bool
    argv: list[str] = field(default_factory=lambda: list(sys.argv))
    _env: EnvConfig | None = None

    @property
    def json(self) -> bool:
        return self.ui.json_mode

    def env(self) -> EnvConfig:
        """The environment's configuration; raises ConfigError when --env is missing or unknown."""
        if self._env is None:
            self._env = self.settings.env(self.env_name, self.cloud)
        return self._env

    def audit(self) -> AuditLog:
        from billingops.runs.audit import AuditLog

        return AuditLog(self.settings.audit_log)
