"""Migrations as a one-off task: ECS run-task against moto, a Cloud Run job execution against GcpFake.

moto runs no containers: run_task returns a RUNNING task, only stop_task moves it to STOPPED, and its
containers always report exit code 0. So the ECS tests send the real run_task request (task definition,
command override, awsvpc networking) to moto and poll moto until the task stops (the test stops it, as the
container would), and a thin wrapper over describe_tasks drives the exit codes moto cannot produce
(non-zero, or none at all when the container never ran).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from google.api_core.future.polling import DEFAULT_POLLING

from billingops.clouds.aws.task import EcsMigrationTask
from billingops.clouds.base import aws_client
from billingops.clouds.gcp.task import CloudRunMigrationJob
from billingops.clouds.task import parse_command
from billingops.config import load_settings
from billingops.errors import CloudError, ConfigError, StepFailed, UsageError
from tests.services.db_migrate import gcp_fake_jobs
from tests.support.gcp_fake import GcpFake


@pytest.fixture
def ecs_setup(moto) -> dict[str, Any]:
    ec2 = aws_client("ec2", "us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto's awsvpc task ENI needs DNS hostnames on (as the platform's VPC has them)
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    ecs = aws_client("ecs", "us-east-1")
    ecs.create_cluster(clusterName="billing-dev")
    ecs.register_task_definition(
        family="billing-dev-app",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": "repo/app:1", "essential": True, "cpu": 256, "memory": 512}
        ],
    )
    return {"ecs": ecs, "subnet": subnet, "sg": sg}


class _ExitCodeOnStop:
    """moto's ECS client; a STOPPED task reports the exit code the test chose ("moto": leave moto's own, None:
    no exit code at all)."""

    def __init__(
        self, client: Any, exit_code: int | str | None, reason: str = "Essential container in task exited"
    ):
        self.client, self.exit_code, self.reason = client, exit_code, reason
        self.run_calls: list[dict[str, Any]] = []

    def run_task(self, **kwargs: Any) -> Any:
        self.run_calls.append(kwargs)
        response = self.client.run_task(**kwargs)
        arn = response["tasks"][0]["taskArn"]
        # the "container" finishes shortly after it starts
        threading.Timer(
            0.3, lambda: self.client.stop_task(cluster=kwargs["cluster"], task=arn, reason=self.reason)
        ).start()
        return response

    def describe_tasks(self, **kwargs: Any) -> Any:
        response = self.client.describe_tasks(**kwargs)
        for task in response["tasks"]:
            if task["lastStatus"] != "STOPPED" or self.exit_code == "moto":
                continue
            for container in task.get("containers", []):
                container.pop("exitCode", None)
                if self.exit_code is not None:
                    container["exitCode"] = self.exit_code
        return response


def _ecs_task(setup, client, **kwargs) -> EcsMigrationTask:
    return EcsMigrationTask(
        client,
        cluster="billing-dev",
        task_definition="billing-dev-app",
        container="app",
        subnets=[setup["subnet"]],
        security_groups=[setup["sg"]],
        poll=0.1,
        **kwargs,
    )


def test_ecs_task_success(ecs_setup):
    client = _ExitCodeOnStop(ecs_setup["ecs"], "moto")
    result = _ecs_task(ecs_setup, client).run(["python", "-m", "app", "migrate"])
    assert result.exit_code == 0 and result.task.startswith("arn:aws:ecs:")
    call = client.run_calls[0]
    assert call["overrides"]["containerOverrides"] == [
        {"name": "app", "command": ["python", "-m", "app", "migrate"]}
    ]
    assert call["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    stopped = ecs_setup["ecs"].describe_tasks(cluster="billing-dev", tasks=[result.task])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"  # the wait loop really polled moto until the task stopped


def test_ecs_task_nonzero_exit_fails(ecs_setup):
    with pytest.raises(StepFailed, match="exited with code 3"):
        _ecs_task(ecs_setup, _ExitCodeOnStop(ecs_setup["ecs"], 3)).run(["migrate"])


def test_ecs_task_stopped_without_exit_code(ecs_setup):
    """Plain moto: stop_task leaves no exit code, like a task that never started its container."""
    client = _ExitCodeOnStop(ecs_setup["ecs"], None, reason="CannotPullContainerError: pull access denied")
    with pytest.raises(StepFailed, match="without an exit code.*CannotPullContainerError"):
        _ecs_task(ecs_setup, client).run(["migrate"])


def test_ecs_task_unknown_cluster_is_a_cloud_error(ecs_setup):
    task = EcsMigrationTask(
        ecs_setup["ecs"],
        cluster="nope",
        task_definition="billing-dev-app",
        container="app",
        subnets=[ecs_setup["subnet"]],
        security_groups=[ecs_setup["sg"]],
        poll=0.1,
    )
    with pytest.raises(CloudError):
        task.run(["migrate"])


def test_ecs_from_outputs_names_what_is_missing(tmp_path, moto):
    env = load_settings(cwd=tmp_path).env("dev")
    with pytest.raises(ConfigError, match="ecs_cluster_name"):
        EcsMigrationTask.from_outputs(env, {"task_definition_family": "f"})


def test_parse_command():
    assert parse_command("python -m app 'migrate now'") == ["python", "-m", "app", "migrate now"]
    with pytest.raises(UsageError):
        parse_command("  ")


@pytest.fixture
def jobs_env(tmp_path):
    fake = GcpFake.start()
    gcp_fake_jobs.install(fake)
    (tmp_path / "billingops.toml").write_text(
        f'[environments.dev]\ncloud = "gcp"\n[environments.dev.gcp]\nproject = "billing-test"\n'
        f'[environments.dev.gcp.endpoints]\nrun = "{fake.url}"\n'
    )
    yield fake, load_settings(cwd=tmp_path).env("dev")
    fake.stop()


JOB = "projects/billing-test/locations/us-central1/jobs/billing-dev-migrate"
FAST = DEFAULT_POLLING.with_delay(initial=0.05, maximum=0.1, multiplier=1.5).with_timeout(10)


def test_cloud_run_job_success(jobs_env):
    fake, env = jobs_env
    fake.state["jobs"][JOB] = {"outcome": "succeeded", "polls": 2}
    job = CloudRunMigrationJob.from_outputs(env, {}, polling=FAST, timeout=30)
    assert job.job == JOB
    result = job.run(["migrate", "--verbose"])
    assert result.exit_code == 0 and result.task.startswith(JOB + "/executions/")
    assert fake.state["job_runs"][0]["overrides"]["containerOverrides"] == [
        {"args": ["migrate", "--verbose"]}
    ]
    polls = [r for r in fake.requests if "/operations/" in r.path]
    assert len(polls) >= 3


def test_cloud_run_job_runs_the_image_being_deployed(jobs_env):
    """As on AWS: the migrations run the image the deploy rolls out, not the one terraform last set on the job
    (a run's overrides cannot name an image, so the job is pointed at it first)."""
    from billingops.clouds import migration_task

    fake, env = jobs_env
    deployed = "us-central1-docker.pkg.dev/billing-test/app/billing:v2"
    fake.state["jobs"][JOB] = {"outcome": "succeeded", "polls": 0, "image": "repo/app:terraform"}
    messages: list[str] = []
    runner = migration_task(env, {}, image=deployed, polling=FAST, timeout=30, say=messages.append)
    runner.run(["migrate"])
    assert [run["image"] for run in fake.state["job_runs"]] == [deployed]
    assert fake.state["job_updates"] == [{"job": JOB, "image": deployed}]
    assert any(f"now runs {deployed} (was repo/app:terraform)" in m for m in messages)

    runner.run(["migrate"])  # the job already runs it: no second update
    assert len(fake.state["job_updates"]) == 1 and fake.state["job_runs"][1]["image"] == deployed


def test_cloud_run_job_failure(jobs_env):
    fake, env = jobs_env
    fake.state["jobs"][JOB] = {"outcome": "failed", "polls": 0}
    with pytest.raises(StepFailed, match="failed with exit code 1"):
        CloudRunMigrationJob.from_outputs(env, {}, polling=FAST, timeout=30).run(["migrate"])


def test_cloud_run_missing_job_is_a_cloud_error(jobs_env):
    fake, env = jobs_env
    with pytest.raises(CloudError, match="404"):
        CloudRunMigrationJob.from_outputs(env, {}, job="other-job", polling=FAST).run(["migrate"])


def test_cli_task_mode_on_gcp(run_cli, tmp_path):
    fake = GcpFake.start()
    try:
        gcp_fake_jobs.install(fake)
        fake.state["jobs"][JOB] = {"outcome": "succeeded", "polls": 0}
        (tmp_path / "tf").mkdir()
        (tmp_path / "billingops.toml").write_text(
            '[environments.dev]\ncloud = "gcp"\nmigrations_mode = "task"\nterraform_dir = "tf"\n'
            f'[environments.dev.gcp]\nproject = "billing-test"\n[environments.dev.gcp.endpoints]\nrun = "{fake.url}"\n')
        ok = run_cli("db", "migrate", "--env", "dev", "--job", "billing-dev-migrate", "--task-command",
                     "python -m app migrate", "--json", cwd=tmp_path)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout and '"mode": "task"' in ok.stdout
        assert fake.state["job_runs"][0]["overrides"]["containerOverrides"] == [
            {"args": ["python", "-m", "app", "migrate"]}]
        fake.state["jobs"][JOB] = {"outcome": "failed", "polls": 0}
        failed = run_cli("db", "migrate", "--env", "dev", "--job", "billing-dev-migrate", cwd=tmp_path)
        assert failed.returncode == 1 and "failed with exit code 1" in failed.stderr
        dry = run_cli("db", "migrate", "--env", "dev", "--dry-run", "--job", "x", cwd=tmp_path)
        assert dry.returncode == 2 and "--direct --dry-run" in dry.stderr
    finally:
        fake.stop()


def test_cli_task_mode_on_aws_times_out_and_leaves_the_task(run_cli, tmp_path, ecs_setup):
    (tmp_path / "tf").mkdir()
    (tmp_path / "billingops.toml").write_text('[environments.dev]\ncloud = "aws"\nterraform_dir = "tf"\n')
    result = run_cli("db", "migrate", "--env", "dev", "--task", "--cluster", "billing-dev", "--task-definition",
                     "billing-dev-app", "--container", "app", "--subnet", ecs_setup["subnet"], "--security-group",
                     ecs_setup["sg"], "--task-timeout", "1", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "did not finish within 1 s" in result.stderr and "left running" in result.stderr
    tasks = ecs_setup["ecs"].list_tasks(cluster="billing-dev")["taskArns"]
    assert len(tasks) == 1  # started for real on moto, and not stopped by billingops
