"""A recording stand-in for `terraform` applying terraform/gcp, for the one test that cannot have the real thing.

No google provider can be installed here, so the GCP deploy orchestration cannot run real terraform. This shim
speaks terraform's machine-readable interface as billingops uses it (`version -json`, `init`, `plan -json -out
-detailed-exitcode [-target]`, `show -json`, `apply -json PLAN`, `output -json`), records every call, and
"applies" a fixed list of the root module's resources by calling the Google REST fakes the way the provider
would: it creates the secrets and the database/cache URL versions in the Secret Manager fake and the service
with Cloud Run's services.create on the Cloud Run fake (which refuses a revision whose secret has no version or
whose image is missing). A stale saved plan is refused as terraform refuses it.

    install(bin_dir, state_dir, fake_url=..., project=..., region=..., image=..., load_balancer_url=...)
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

APP_SECRETS = ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET")
ALL_SECRETS = ("DATABASE_URL", "REDIS_URL", *APP_SECRETS)
RESOURCES: tuple[tuple[str, str], ...] = (
    ('google_project_service.this["run.googleapis.com"]', "google_project_service"),
    ("module.kms.google_kms_key_ring.this", "google_kms_key_ring"),
    ("module.network.google_compute_network.this", "google_compute_network"),
    ("module.registry.google_artifact_registry_repository.this", "google_artifact_registry_repository"),
    *((f'module.secrets.google_secret_manager_secret.this["{n}"]', "google_secret_manager_secret")
      for n in ALL_SECRETS),
    ("module.database.google_sql_database_instance.this", "google_sql_database_instance"),
    ("module.database.google_secret_manager_secret_version.database_url", "google_secret_manager_secret_version"),
    ("module.cache.google_redis_instance.this", "google_redis_instance"),
    ("module.cache.google_secret_manager_secret_version.redis_url", "google_secret_manager_secret_version"),
    ("module.service.google_cloud_run_v2_service.this", "google_cloud_run_v2_service"),
    ("module.monitoring.google_monitoring_alert_policy.app_5xx", "google_monitoring_alert_policy"),
)


def install(bin_dir: Path, state_dir: Path, **settings: str) -> Path:
    """Write `bin_dir/terraform` running this shim with `settings`; returns the calls log (JSON lines)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "settings.json").write_text(json.dumps(settings))
    script = bin_dir / "terraform"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
                      "from tests.support.terraform_shim import main\n"
                      f"sys.exit(main(sys.argv[1:], {str(state_dir)!r}))\n")
    script.chmod(0o755)
    return state_dir / "calls.jsonl"


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


def main(argv: list[str], state_dir: str) -> int:
    shim = _Shim(Path(state_dir))
    with (shim.dir / "calls.jsonl").open("a") as fh:
        fh.write(json.dumps(argv) + "\n")
    command = argv[0] if argv else ""
    handler = getattr(shim, f"cmd_{command}", None)
    if handler is None:
        print(f"shim: unsupported terraform command {command!r}", file=sys.stderr)
        return 1
    code: int = handler(argv[1:])
    return code


class _Shim:
    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.settings: dict[str, str] = json.loads((folder / "settings.json").read_text())
        state_file = folder / "state.json"
        self.state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.is_file() else \
            {"serial": 0, "applied": []}

    # -- commands -----------------------------------------------------------------------------------
    def cmd_version(self, args: list[str]) -> int:
        print(json.dumps({"terraform_version": "1.11.4", "platform": "linux_amd64"}))
        return 0

    def cmd_init(self, args: list[str]) -> int:
        print("Terraform has been successfully initialized!")
        return 0

    def cmd_plan(self, args: list[str]) -> int:
        out = next(a.split("=", 1)[1] for a in args if a.startswith("-out="))
        targets = [a.split("=", 1)[1] for a in args if a.startswith("-target=")]
        pending = [(addr, kind) for addr, kind in RESOURCES if addr not in self.state["applied"]
                   and (not targets or any(addr == t or addr.startswith((t + ".", t + "[")) for t in targets))]
        Path(out).write_text(json.dumps({"serial": self.state["serial"], "changes": pending}))
        for addr, kind in pending:
            _event({"type": "planned_change", "change": {"resource": {"addr": addr, "resource_type": kind},
                                                         "action": "create"}})
        _event({"type": "change_summary", "changes": {"add": len(pending), "change": 0, "remove": 0, "import": 0,
                                                      "operation": "plan"}})
        return 2 if pending else 0

    def cmd_show(self, args: list[str]) -> int:
        plan = json.loads(Path(args[-1]).read_text())
        print(json.dumps({"format_version": "1.2", "resource_changes": [
            {"address": addr, "type": kind, "mode": "managed",
             "change": {"actions": ["create"], "before": None, "after": self._after(kind)}}
            for addr, kind in plan["changes"]]}))
        return 0

    def cmd_apply(self, args: list[str]) -> int:
        plan = json.loads(Path(args[-1]).read_text())
        if plan["serial"] != self.state["serial"]:
            _diagnostic("Saved plan is stale", "The given plan file can no longer be applied because the state "
                        "was changed by another operation after the plan was created.")
            return 1
        added = 0
        try:
            for addr, kind in plan["changes"]:
                _event({"type": "apply_start", "hook": {"resource": {"addr": addr}}})
                problem = self._create(addr, kind)
                if problem:
                    _diagnostic(f"Error waiting to create Service: {problem}", "", address=addr)
                    return 1
                self.state["applied"].append(addr)
                added += 1
                _event({"type": "apply_complete", "hook": {"resource": {"addr": addr}}})
        finally:
            self.state["serial"] += 1
            (self.dir / "state.json").write_text(json.dumps(self.state))
        _event({"type": "change_summary", "changes": {"add": added, "change": 0, "remove": 0, "import": 0,
                                                      "operation": "apply"}})
        _event({"type": "outputs", "outputs": {k: {"value": v, "sensitive": False}
                                               for k, v in self._outputs().items()}})
        return 0

    def cmd_output(self, args: list[str]) -> int:
        print(json.dumps({k: {"value": v, "type": "string", "sensitive": False} for k, v in self._outputs().items()}))
        return 0

    # -- the resources --------------------------------------------------------------------------------
    def _after(self, kind: str) -> dict[str, Any]:
        if kind == "google_cloud_run_v2_service":
            return {"template": [{"containers": [{"image": self.settings["image"]}]}]}
        return {}

    def _create(self, addr: str, kind: str) -> str:
        project = self.settings["project"]
        if kind == "google_secret_manager_secret":
            name = addr.split('"')[1]
            _call("POST", f"/v1/projects/{project}/secrets?secretId={_secret_id(name)}",
                  self.settings, {"replication": {"automatic": {}}})
        elif kind == "google_secret_manager_secret_version":
            name = "DATABASE_URL" if addr.endswith("database_url") else "REDIS_URL"
            value = {"DATABASE_URL": "postgresql://billing_app:pw@10.31.0.3:5432/billing?sslmode=require",
                     "REDIS_URL": "rediss://:auth@10.31.0.4:6378/0"}[name]
            _call("POST", f"/v1/projects/{project}/secrets/{_secret_id(name)}:addVersion", self.settings,
                  {"payload": {"data": base64.b64encode(value.encode()).decode()}})
        elif kind == "google_cloud_run_v2_service":
            return self._create_service()
        return ""

    def _create_service(self) -> str:
        project, region = self.settings["project"], self.settings["region"]
        env = [{"name": n, "valueSource": {"secretKeyRef": {"secret": f"projects/{project}/secrets/{_secret_id(n)}",
                                                            "version": "latest"}}} for n in ALL_SECRETS]
        body = {"ingress": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "template": {"containers": [{
            "name": "app", "image": self.settings["image"], "ports": [{"containerPort": 8000}], "env": env,
            "startupProbe": {"httpGet": {"path": "/health"}, "periodSeconds": 5, "failureThreshold": 12}}]}}
        operation = _call("POST", f"/v2/projects/{project}/locations/{region}/services?serviceId=billing-dev",
                          self.settings, body)
        for _ in range(50):
            done = _call("GET", f"/v2/{operation['name']}", self.settings)
            if done.get("done"):
                error = done.get("error")
                return f"Error code {error['code']}, message: {error['message']}" if error else ""
            time.sleep(0.05)
        return "timeout while waiting for the service"

    def _outputs(self) -> dict[str, Any]:
        applied = set(self.state["applied"])
        project = self.settings["project"]
        out: dict[str, Any] = {}
        if applied:
            out.update(environment="dev", project_id=project, region=self.settings["region"])
        if any("google_secret_manager_secret.this" in a for a in applied):
            out["secret_ids"] = {n: f"projects/{project}/secrets/{_secret_id(n)}" for n in ALL_SECRETS}
        if any("artifact_registry" in a for a in applied):
            out["image_repository_url"] = f"{self.settings['region']}-docker.pkg.dev/{project}/billing-dev"
        if "module.service.google_cloud_run_v2_service.this" in applied:
            out.update(service_name="billing-dev", load_balancer_url=self.settings["load_balancer_url"],
                       service_url="https://billing-dev-abc123-uc.a.run.app")
        return out


def _secret_id(name: str) -> str:
    return f"billing-dev-{name.lower().replace('_', '-')}"


def _call(method: str, path: str, settings: dict[str, str], body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(settings["fake_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # the loopback fake
        reply: dict[str, Any] = json.loads(response.read() or b"{}")
        return reply


def _event(event: dict[str, Any]) -> None:
    print(json.dumps({"@level": "info", "@message": event.get("type", ""), **event}), flush=True)


def _diagnostic(summary: str, detail: str, address: str = "") -> None:
    _event({"@level": "error", "type": "diagnostic",
            "diagnostic": {"severity": "error", "summary": summary, "detail": detail, "address": address}})
    print(f"Error: {summary}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ["TERRAFORM_SHIM_DIR"]))
