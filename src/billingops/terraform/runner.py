"""Terraform runner: drives the terraform binary through its machine-readable interface.

`init -input=false`, `plan -json -out=FILE -detailed-exitcode`, `apply -json FILE`, `show -json FILE`,
`output -json`. The `-json` event stream feeds the progress view; diagnostics become errors carrying the
resource address; "Error acquiring the state lock" becomes StateLocked with the lock info. Each
environment gets its own TF_DATA_DIR under the state dir, so prod and dev never share backend settings
and the bundled module directory is never written to. Reading what terraform prints is messages.py's part,
finding the binary binary.py's.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billingops import process, redact
from billingops.errors import ConfigError, Interrupted, TerraformError, ToolMissing
from billingops.terraform import messages
from billingops.terraform.binary import MIN_VERSION, find_terraform, terraform_version
from billingops.terraform.plan_summary import PlanStream, PlanSummary, summarize

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.console import Output
    from billingops.runs.journal import Journal

log = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any]], None]


@dataclass
class PlanResult:
    planfile: Path
    has_changes: bool
    summary: PlanSummary
    plan_json: dict[str, Any]


@dataclass
class ApplyResult:
    applied: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    # The outputs apply reported at its end, sensitive ones left out (the stream carries no value for them).
    outputs: dict[str, Any] = field(default_factory=dict)


class Terraform:
    def __init__(self, workdir: Path, *, data_dir: Path, var_files: Sequence[Path] = (),
                 backend_config: Sequence[str] = (), extra_env: Mapping[str, str] | None = None,
                 env_name: str = "", journal: Journal | None = None, output: Output | None = None,
                 lock_timeout: str | None = None, binary: str | None = None) -> None:
        self.workdir = workdir
        self.data_dir = data_dir
        self.var_files = list(var_files)
        self.backend_config = list(backend_config)
        self.extra_env = dict(extra_env or {})
        self.env_name = env_name
        self.journal = journal
        self.output = output
        self.lock_timeout = lock_timeout
        self._binary = binary

    @classmethod
    def for_env(cls, env: EnvConfig, *, journal: Journal | None = None, sandbox: Any = None,
                output: Output | None = None, lock_timeout: str | None = None) -> Terraform:
        """The runner for one environment: its module, tfvars and backend file (or the sandbox's)."""
        if sandbox is not None:
            runner: Terraform = sandbox.terraform(env, journal=journal, output=output, lock_timeout=lock_timeout)
            return runner
        if not env.terraform_dir.is_dir():
            raise ConfigError(
                f"The terraform directory {env.terraform_dir} for {env.name} ({env.cloud}) does not exist.",
                hint="Set terraform_dir in billingops.toml or run from the project root.",
            )
        for path, what in ((env.tfvars_path, "tfvars"), (env.backend_config_path, "backend config")):
            if not path.is_file():
                raise ConfigError(
                    f"The {what} file {path} for environment {env.name} ({env.cloud}) is missing.",
                    hint=f"Create it (see {env.terraform_dir}/README.md) or fix terraform_dir in billingops.toml.",
                )
        return cls(env.terraform_dir, data_dir=env.state_dir / "terraform" / f"{env.cloud}-{env.name}",
                   var_files=[env.tfvars_path], backend_config=[str(env.backend_config_path)],
                   env_name=env.name, journal=journal, output=output, lock_timeout=lock_timeout)

    # -- commands -----------------------------------------------------------------------------------
    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = find_terraform()
        return self._binary

    def check_version(self) -> tuple[int, int, int]:
        version = terraform_version(self.binary)
        if version < MIN_VERSION:
            raise ToolMissing(
                f"terraform {'.'.join(map(str, version))} is too old; billingops needs >= 1.11.",
                hint="Upgrade terraform and retry.",
            )
        return version

    def init(self, *, reconfigure: bool = False, upgrade: bool = False) -> None:
        argv = [self.binary, "init", "-input=false", "-no-color"]
        argv += [f"-backend-config={item}" for item in self.backend_config]
        if reconfigure:
            argv.append("-reconfigure")
        if upgrade:
            argv.append("-upgrade")
        if self.lock_timeout:
            argv.append(f"-lock-timeout={self.lock_timeout}")
        lines: list[str] = []
        stream = self._start(argv, "init")
        for line in stream.lines():
            lines.append(line)
            log.info("terraform init: %s", redact.redact(line))
        self._finish(stream, "init")
        if stream.returncode != 0:
            text = "\n".join(lines) + "\n" + stream.stderr
            self._raise_for_text(text, "init")

    def plan(self, planfile: Path | None = None, *, refresh_only: bool = False, destroy: bool = False,
             on_event: EventHandler | None = None, need_plan_json: bool = True,
             targets: Sequence[str] = ()) -> PlanResult:
        """A saved plan and its summary. With need_plan_json=False the summary comes from the event stream
        when it can (no destroys or replacements: see PlanStream) and `plan_json` is that reduced plan.
        `targets` (-target) limit the plan to those addresses and what they depend on."""
        planfile = planfile or self.data_dir / "plans" / "tfplan"
        planfile.parent.mkdir(parents=True, exist_ok=True)
        argv = [self.binary, "plan", "-input=false", "-json", f"-out={planfile}", "-detailed-exitcode"]
        argv += [f"-var-file={path}" for path in self.var_files]
        if refresh_only:
            argv.append("-refresh-only")
        if destroy:
            argv.append("-destroy")
        argv += [f"-target={target}" for target in targets]
        if self.lock_timeout:
            argv.append(f"-lock-timeout={self.lock_timeout}")
        stream = PlanStream()

        def seen(event: dict[str, Any]) -> None:
            stream(event)
            if on_event:
                on_event(event)

        try:
            code = self._run_json(argv, "plan", seen, ok_codes=(0, 2))
            from_stream = None if need_plan_json else stream.plan_like()
            plan_json = from_stream if from_stream is not None else self.show_json(planfile)
        except BaseException:
            planfile.unlink(missing_ok=True)  # it holds every planned value in clear, secrets included
            raise
        return PlanResult(planfile, code == 2, summarize(plan_json), plan_json)

    def apply(self, planfile: Path, *, on_event: EventHandler | None = None) -> ApplyResult:
        if not planfile.is_file():
            raise TerraformError(f"The saved plan {planfile} is missing.",
                                 hint="Run the plan step again (billingops deploy --from plan).")
        argv = [self.binary, "apply", "-input=false", "-json", "-auto-approve"]
        if self.lock_timeout:
            argv.append(f"-lock-timeout={self.lock_timeout}")
        argv.append(str(planfile))
        result = ApplyResult()

        def count(event: dict[str, Any]) -> None:
            result.events += 1
            if event.get("type") == "apply_complete":
                result.applied += 1
            if event.get("type") == "change_summary":
                result.summary = event.get("changes", {})
            if event.get("type") == "outputs":
                result.outputs = {name: out["value"] for name, out in (event.get("outputs") or {}).items()
                                  if isinstance(out, dict) and not out.get("sensitive") and "value" in out}
            if on_event:
                on_event(event)

        self._run_json(argv, "apply", count, ok_codes=(0,))
        return result

    def show_json(self, planfile: Path) -> dict[str, Any]:
        result = process.run([self.binary, "show", "-json", "-no-color", str(planfile)], cwd=self.workdir,
                             env=self._env(), timeout=300, check=False)
        if result.returncode != 0:
            self._raise_for_text(result.stderr or result.stdout, "show")
        plan: dict[str, Any] = json.loads(result.stdout)
        return plan

    def initialised(self) -> bool:
        """Whether this environment's data folder has been through `init` (it records the backend there)."""
        return (self.data_dir / "terraform.tfstate").is_file()

    def outputs(self) -> dict[str, Any]:
        """`terraform output -json` as {name: value} (sensitive values are returned, never printed).

        Commands that only read outputs (rollout, status, secrets, db) work on a laptop that never ran
        `deploy`: billingops keeps one data folder per environment and initialises it when it is missing or
        its backend settings changed, instead of passing on terraform's advice to run init by hand."""
        if not self.initialised():
            log.info("terraform: initialising %s for %s (first use on this machine)", self.data_dir, self.env_name)
            self.init(reconfigure=True)
        argv = [self.binary, "output", "-json", "-no-color"]
        result = process.run(argv, cwd=self.workdir, env=self._env(), timeout=120, check=False)
        if result.returncode != 0 and messages.NEEDS_INIT.search(result.stderr or ""):
            log.info("terraform: the backend settings of %s changed; initialising again", self.env_name)
            self.init(reconfigure=True)
            result = process.run(argv, cwd=self.workdir, env=self._env(), timeout=120, check=False)
        if result.returncode != 0:
            self._raise_for_text(result.stderr or result.stdout, "output")
        raw = json.loads(result.stdout or "{}")
        values = {name: item.get("value") for name, item in raw.items()}
        for item in raw.values():
            if item.get("sensitive"):
                _register_sensitive(item.get("value"))
        return values

    def _raise_for_text(self, text: str, operation: str) -> None:
        if "Error acquiring the state lock" in text or "state lock" in text.lower() and "Lock Info" in text:
            raise messages.lock_error(text, self.env_name)
        log.info("terraform %s output:\n%s", operation, redact.redact(text.strip()))
        raise messages.text_error(text, operation)

    # -- plumbing -----------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = process.clean_env({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "TF_DATA_DIR": str(self.data_dir.resolve()),
                                 **self.extra_env})
        env.pop("TF_LOG", None)  # debug logs would print request bodies, secrets included
        return env

    def _start(self, argv: list[str], operation: str) -> process.Streaming:
        def started(pid: int) -> None:
            if self.journal is not None:
                self.journal.set_terraform({"pid": pid, "operation": operation, "workdir": str(self.workdir),
                                            "data_dir": str(self.data_dir), "host": socket.gethostname(),
                                            "backend_config": self.backend_config})

        return process.Streaming(argv, cwd=self.workdir, env=self._env(), on_start=started)

    def _finish(self, stream: process.Streaming, operation: str) -> None:
        code = stream.returncode
        if self.journal is not None:
            self.journal.set_terraform(None)
        if stream.interrupts:
            raise Interrupted(
                f"terraform {operation} was interrupted; terraform was asked to stop (one SIGINT) and "
                f"exited with {code}, releasing its state lock.",
                hint="Resume with `billingops deploy --env " + (self.env_name or "ENV") + " --resume`.",
            )

    def _run_json(self, argv: list[str], operation: str, on_event: EventHandler | None,
                  ok_codes: tuple[int, ...]) -> int:
        diagnostics: list[dict[str, Any]] = []
        stream = self._start(argv, operation)
        for line in stream.lines():
            event = messages.parse_event(line)
            if event is None:
                log.debug("terraform %s: %s", operation, redact.redact(line))
                continue
            if event.get("type") == "diagnostic":
                diagnostics.append(event.get("diagnostic", {}))
            if on_event:
                on_event(event)
        self._finish(stream, operation)
        code = stream.returncode
        if code in ok_codes:
            for diag in diagnostics:
                if diag.get("severity") == "warning":
                    log.info("terraform warning: %s", redact.redact(diag.get("summary", "")))
            return code
        errors = [d for d in diagnostics if d.get("severity") == "error"]
        if errors:
            raise messages.diagnostic_error(errors, operation, self.env_name)
        self._raise_for_text(stream.stderr, operation)
        raise AssertionError("unreachable")


def _register_sensitive(value: Any) -> None:
    if isinstance(value, str):
        redact.register(value)
        redact.register_url(value)
    elif isinstance(value, dict):
        for item in value.values():
            _register_sensitive(item)
    elif isinstance(value, list):
        for item in value:
            _register_sensitive(item)
