"""The rollout protocol both clouds meet, and the factories that build the real adapters.

A rollout is: check the image exists (ImageRegistry), put it live behind a health gate (Rollout.deploy), and
if needed go back (Rollout.rollback). Adapters take their SDK clients in __init__ so tests can point them at
moto or the Google fake; `rollout_adapter(env, outputs)` / `image_registry(env, outputs)` build real ones.
The SDKs are imported inside the factories to keep `billingops --help` fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.clouds.health import HealthChecker, HealthResult
    from billingops.config import EnvConfig
    from billingops.imageref import ImageRef

Progress = Callable[[str], None]
# Called before each write with what is about to be written; raises (LockLost, exit 4) when the run lost its
# deploy lock. A plain callback: the adapters know nothing of locks.
Fence = Callable[[str], None]


def no_fence(_boundary: str) -> None:
    """No deploy lock to check (a caller that holds none)."""


@dataclass(frozen=True)
class Revision:
    """What is serving now: a task definition (AWS, family:rev) or a Cloud Run revision name."""

    name: str
    image: str


@dataclass
class RolloutOutcome:
    cloud: str
    service: str
    action: str  # rollout | rollback
    status: str  # completed | updated-not-waited | rolled-back
    image: str
    previous: str
    current: str
    health: HealthResult | None = None
    traffic_steps: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"{self.service}: {self.previous} -> {self.current} ({self.status})"
        if self.health is not None:
            text += f"; health {self.health.status} in {self.health.latency_ms or 0:.0f} ms"
        return text


@dataclass(frozen=True)
class Waiting:
    """How long to wait for a deployment and how often to look."""

    timeout: float = 900.0
    poll: float = 5.0

    def deadline(self) -> float:
        return time.monotonic() + self.timeout


class Rollout(Protocol):
    cloud: str
    service: str

    def current(self) -> Revision: ...

    def health_base_url(self) -> str | None: ...

    def deploy(
        self,
        image: str,
        *,
        health: HealthChecker | None,
        waiting: Waiting,
        canary: Sequence[int] = (100,),
        wait: bool = True,
        progress: Progress = print,
    ) -> RolloutOutcome: ...

    def rollback(self, *, to: str | None, waiting: Waiting, progress: Progress = print) -> RolloutOutcome: ...


class ImageRegistry(Protocol):
    def require(self, image: ImageRef) -> str:
        """Return the image's digest; raise UsageError (exit 2) when it does not exist."""
        ...


def output_value(outputs: Mapping[str, Any], name: str, *, what: str, flag: str) -> str:
    """A required terraform output (or the value of the flag that bypasses it)."""
    value = outputs.get(name)
    if value in (None, "", [], {}):
        raise ConfigError(
            f"The terraform output {name!r} ({what}) is missing or empty.",
            hint=f"Run `billingops deploy` through the apply step first, or pass {flag}.",
        )
    return str(value)


def default_repository(env: EnvConfig, outputs: Mapping[str, Any]) -> str | None:
    """The repository a bare `--image TAG` refers to: config first, then the terraform output."""
    return env.image_repository or (str(outputs.get("image_repository_url") or "") or None)
