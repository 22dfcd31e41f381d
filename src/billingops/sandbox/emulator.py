"""The sandbox: an emulated AWS on this machine (moto server on loopback) for rehearsing a deploy.

`billingops sandbox up` starts moto (detached, so it outlives the command) and a throwaway PostgreSQL for
the migration step, and creates the S3 state bucket and its KMS key (as terraform/aws/bootstrap does) in moto;
the backend locks with S3's native lock file (`use_lockfile`), as the bundled envs/*.backend.hcl do.
Deploys then run the real terraform with the real AWS provider against a scratch copy of terraform/aws plus a provider
override (as tflocal does), so the bundled module is never edited. Every endpoint must be on loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from billingops.clouds.base import is_loopback_url
from billingops.errors import ConfigError, ExternalError, Refused, ToolMissing
from billingops.runs.journal import atomic_write_json, pid_alive
from billingops.sandbox.mirror import find_provider_mirror
from billingops.sandbox.override import moto_server_command

if TYPE_CHECKING:
    from billingops.config import EnvConfig
    from billingops.console import Output
    from billingops.runs.journal import Journal
    from billingops.terraform.runner import Terraform


REGION = "us-east-1"
STATE_BUCKET = "billingops-sandbox-state"
STATE_KEY_ALIAS = "alias/billingops-sandbox-state"
DEFAULT_IMAGE_TAG = "sandbox"
# The throwaway PostgreSQL's password, 0600 in the 0700 root.
PG_PASSWORD_FILE = "postgres.password"  # noqa: S105  # nosec B105  # a file name
# moto marks an ECS service's deployment COMPLETED only if this many tasks "run" when it is created.
_MOTO_RUNNING_TASKS = "3"
_MOTO_SECRET_KEY = "test"  # noqa: S105  # nosec B105  # moto's documented dummy credential, not a password
_CREDENTIAL_VARS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_ROLE_ARN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def assert_loopback(urls: dict[str, str]) -> None:
    """Refuse to touch anything that is not on this machine: the sandbox must never reach a cloud."""
    for what, url in urls.items():
        if url and not is_loopback_url(url):
            raise Refused(
                f"The sandbox would use {what} = {url}, which is not on loopback.",
                hint="The sandbox only talks to emulators on 127.0.0.1; unset that variable and retry.",
            )


@dataclass
class SandboxInfo:
    root: Path
    moto_port: int
    moto_pid: int
    postgres_port: int | None = None
    postgres_dir: str | None = None
    image_tag: str = DEFAULT_IMAGE_TAG
    region: str = REGION
    started: str = ""
    state_kms_key_arn: str = ""  # the alias ARN of the state key, set when the state backend is created

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def database_url(self) -> str | None:
        """Where the throwaway PostgreSQL listens, without its password: for display."""
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/postgres" if self.postgres_port else None

    def connect_url(self) -> str | None:
        """database_url with the password (read from its 0600 file): to connect with, never to show."""
        if not self.postgres_port:
            return None
        password = quote((self.root / PG_PASSWORD_FILE).read_text(encoding="utf-8").strip(), safe="")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.postgres_port}/postgres"

    def environ(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.moto_url, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": _MOTO_SECRET_KEY, "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region, "AWS_EC2_METADATA_DISABLED": "true"}

    def apply_environ(self) -> None:
        """Point every boto3 client of this process at moto, with throwaway credentials."""
        for key in list(os.environ):
            if key in _CREDENTIAL_VARS or key.startswith("AWS_ENDPOINT_URL"):
                os.environ.pop(key)
        os.environ.update(self.environ())
        assert_loopback({k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")})

    def alive(self) -> bool:
        return pid_alive(self.moto_pid) and _port_open(self.moto_port)

    # -- terraform ------------------------------------------------------------------------------------
    def terraform(self, env: EnvConfig, *, journal: Journal | None = None, output: Output | None = None,
                  lock_timeout: str | None = None) -> Terraform:
        from billingops.sandbox.override import render_aws_provider_override
        from billingops.terraform.runner import Terraform

        if env.cloud != "aws":
            raise ConfigError("The sandbox emulates AWS only.", hint="Use --cloud aws with --sandbox.")
        workdir = self.root / f"terraform-{env.name}"
        if workdir.exists():
            shutil.rmtree(workdir)
        shutil.copytree(env.terraform_dir, workdir,
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.backup"))
        (workdir / "billingops_sandbox_override.tf").write_text(
            render_aws_provider_override(self.moto_url, self.region), encoding="utf-8")
        # copytree keeps the bundled module's 0755/0644; the copy is the sandbox's own, like its state folder.
        for path in (workdir, *workdir.rglob("*")):
            path.chmod(0o700 if path.is_dir() else 0o600)
        backend = self.backend_file(env.name)
        var_files = [workdir / "envs" / f"{env.name}.tfvars"]
        if (workdir / "envs" / "sandbox.tfvars").is_file():
            var_files.append(workdir / "envs" / "sandbox.tfvars")
        extra_env = {**self.environ()}
        cli_config = self.cli_config()
        if cli_config is not None:
            extra_env["TF_CLI_CONFIG_FILE"] = str(cli_config)
        assert_loopback({"sandbox endpoint": self.moto_url})
        return Terraform(workdir, data_dir=self.root / f"tfdata-{env.name}", var_files=var_files,
                         backend_config=[str(backend)], extra_env=extra_env, env_name=env.name, journal=journal,
                         output=output, lock_timeout=lock_timeout)

    def backend_file(self, env_name: str) -> Path:
        path = self.root / f"{env_name}.backend.hcl"
        path.write_text(self.backend_hcl(env_name), encoding="utf-8")
        return path

    def backend_hcl(self, env_name: str) -> str:
        """The S3 backend settings of the sandbox: native lock file and the bootstrap-style KMS key, so
        `terraform init` warns about nothing (dynamodb_table is deprecated since Terraform 1.11)."""
        url = json.dumps(self.moto_url)
        kms = json.dumps(self.state_kms_key_arn or _state_key_alias_arn(self.region))
        return (f'bucket         = "{STATE_BUCKET}"\nkey            = "{env_name}/terraform.tfstate"\n'
                f'region         = "{self.region}"\nencrypt        = true\nkms_key_id     = {kms}\n'
                f"use_lockfile   = true\nendpoints = {{\n  s3 = {url}\n}}\n"
                'use_path_style              = true\nskip_credentials_validation = true\n'
                'skip_requesting_account_id  = true\nskip_metadata_api_check     = true\n'
                'access_key                  = "test"\nsecret_key                  = "test"\n')

    def cli_config(self) -> Path | None:
        """Keep the user's terraform CLI config if they have one; else use a local provider mirror if any."""
        current = os.environ.get("TF_CLI_CONFIG_FILE")
        if current and Path(current).is_file():
            return None
        if not current and (Path.home() / ".terraformrc").is_file():
            return None
        mirror = find_provider_mirror()
        path = self.root / "terraformrc"
        if mirror is None:
            path.write_text("", encoding="utf-8")  # a missing TF_CLI_CONFIG_FILE only makes terraform warn
            return path
        path.write_text(
            "provider_installation {\n"
            f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n"
            '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n', encoding="utf-8")
        return path

    # -- after apply ----------------------------------------------------------------------------------
    def push_image(self, repository_url: str, tag: str) -> str:
        """Put an image manifest for `tag` into the emulated ECR repository so rollout can find it."""
        from billingops.clouds.base import aws_client, aws_errors

        name = repository_url.split("/", 1)[1] if "/" in repository_url else repository_url
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                               "digest": "sha256:" + "b" * 64},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                                "digest": "sha256:" + "c" * 64}]}
        ecr = aws_client("ecr", self.region)
        with aws_errors(f"pushing the sandbox image {name}:{tag} to the emulated ECR"):
            try:
                ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=tag,
                              imageManifestMediaType=manifest["mediaType"])
            except ecr.exceptions.ImageAlreadyExistsException:
                pass
        return f"{repository_url}:{tag}"


class Sandbox:
    """Start, find and stop the sandbox's emulators; their state lives in <state_dir>/sandbox/."""

    def __init__(self, state_dir: Path) -> None:
        self.root = (state_dir / "sandbox").resolve()
        self.state_file = self.root / "sandbox.json"

    def status(self) -> SandboxInfo | None:
        if not self.state_file.is_file():
            return None
        try:
            info = SandboxInfo(**{**json.loads(self.state_file.read_text()), "root": self.root})
        except (ValueError, TypeError):
            return None
        return info if info.alive() else None

    def up(self, *, postgres: bool = True, image_tag: str = DEFAULT_IMAGE_TAG) -> tuple[SandboxInfo, bool]:
        """Return the running sandbox, starting it if needed; the bool says whether it was started now."""
        current = self.status()
        if current is not None:
            return current, False
        _require_moto()
        self.down()  # clear leftovers of a sandbox whose emulator died
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # it holds the PostgreSQL password
        port = _free_port()
        log_file = open(self.root / "moto.log", "ab")  # noqa: SIM115  # handed to the detached child
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "MOTO_ECS_SERVICE_RUNNING": _MOTO_RUNNING_TASKS}
        try:
            proc = subprocess.Popen(moto_server_command("127.0.0.1", port),
                                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                    start_new_session=True)
        finally:
            log_file.close()
        # The throwaway PostgreSQL (initdb, start) and moto's start-up are independent: both at once.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-postgres")
        postgres_started = pool.submit(self._start_postgres) if postgres else None
        pool.shutdown(wait=False)
        try:
            _warm_aws_clients(f"http://127.0.0.1:{port}")  # boto3's import and models load while moto boots
            deadline = time.monotonic() + 60
            while not _port_open(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ExternalError(f"The moto server did not start (see {self.root / 'moto.log'}).",
                                        hint="Read that log; a port clash or a broken moto install are the usual "
                                             "causes.")
                time.sleep(0.05)
            info = SandboxInfo(root=self.root, moto_port=port, moto_pid=proc.pid, image_tag=image_tag,
                               started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self._save(info)
            info.apply_environ()
            self._create_state_backend(info)
        except BaseException:
            if postgres_started is not None:
                _discard_postgres(postgres_started)
            raise
        if postgres_started is not None:
            info.postgres_port, base = postgres_started.result()
            info.postgres_dir = str(base)
        self._save(info)
        return info, True

    def _start_postgres(self) -> tuple[int, Path]:
        from billingops.sandbox.localpg import LocalPostgres

        pg_port = _free_port()
        # As root, PostgreSQL runs as the postgres user, who may not be able to enter the project
        # folder (say, under /root): its data then lives in a private temp folder.
        base = Path(tempfile.mkdtemp(prefix="billingops-sandbox-pg-")) if os.geteuid() == 0 else (
            self.root / "postgres")
        password = secrets.token_urlsafe(32)  # per sandbox; kept only in the 0600 file below
        fd = os.open(self.root / PG_PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        cluster = LocalPostgres.create(base, pg_port, password)
        cluster.start()
        return pg_port, base

    def down(self) -> dict[str, Any]:
        stopped: dict[str, Any] = {"moto": False, "postgres": False}
        data: dict[str, Any] = {}
        if self.state_file.is_file():
            try:
                data = json.loads(self.state_file.read_text())
            except ValueError:
                data = {}
            pid = data.get("moto_pid")
            if pid and pid_alive(pid):
                try:
                    os.killpg(int(pid), signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGTERM)
                stopped["moto"] = True
        pg_base = Path(data["postgres_dir"]) if data.get("postgres_dir") else self.root / "postgres"
        if (pg_base / "data").is_dir():
            from billingops.sandbox.localpg import LocalPostgres

            LocalPostgres(pg_base / "data", 0).stop()
            stopped["postgres"] = True
            if pg_base != self.root / "postgres":
                shutil.rmtree(pg_base, ignore_errors=True)
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
        return stopped

    def _save(self, info: SandboxInfo) -> None:
        data = {k: v for k, v in asdict(info).items() if k != "root"}
        atomic_write_json(self.state_file, data)

    @staticmethod
    def _create_state_backend(info: SandboxInfo) -> None:
        from billingops.clouds.base import aws_client, aws_errors

        s3 = aws_client("s3", info.region)
        kms = aws_client("kms", info.region)
        with aws_errors("creating the sandbox's state bucket and state key in moto"):
            key = kms.create_key(Description="billingops sandbox terraform state")["KeyMetadata"]
            kms.create_alias(AliasName=STATE_KEY_ALIAS, TargetKeyId=key["KeyId"])
            s3.create_bucket(Bucket=STATE_BUCKET)
            s3.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_encryption(Bucket=STATE_BUCKET, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
                 "BucketKeyEnabled": True}]})
        # The alias ARN, as the bundled envs/<env>.backend.hcl name the bootstrap key.
        info.state_kms_key_arn = key["Arn"].split(":key/")[0] + ":" + STATE_KEY_ALIAS


def _warm_aws_clients(endpoint: str) -> None:
    from billingops.clouds.base import aws_client

    for service in ("s3", "kms"):  # the state backend's clients: built once, cached by botocore's loader
        aws_client(service, "us-east-1", endpoint_url=endpoint)


def _discard_postgres(started: Future[tuple[int, Path]]) -> None:
    """The sandbox failed to start: stop the PostgreSQL its other half started (or is still starting)."""
    try:
        _port, base = started.result()
    except Exception:  # noqa: BLE001  # the moto failure is the one reported
        return
    from billingops.sandbox.localpg import LocalPostgres

    LocalPostgres(base / "data", 0).stop()
    if base.name.startswith("billingops-sandbox-pg-"):
        shutil.rmtree(base, ignore_errors=True)


def _state_key_alias_arn(region: str) -> str:
    # moto's default account; only for a sandbox.json written before the key ARN was recorded.
    return f"arn:aws:kms:{region}:123456789012:{STATE_KEY_ALIAS}"


def _require_moto() -> None:
    """The sandbox's emulator ships in the `sandbox` extra, which production installs leave out."""
    import importlib.util

    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise ToolMissing(
            "The sandbox needs the AWS emulator moto[server], which is not installed in this Python.",
            hint="Install billingops with its sandbox extra: pip install 'billingops[sandbox]' "
            "(in a checkout, scripts/setup does it).",
        )
