"""Fixtures for rollout tests: a tiny app whose health the test controls, and the Cloud Run fake."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from billingops.clouds.base import aws_client
from tests.support import gcp_fake_run
from tests.support.gcp_fake import GcpFake

PROJECT, REGION, SERVICE = "billing-proj", "us-central1", "billing-dev"
SERVICE_NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"
AWS_REGION = "us-east-1"
ECR_REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing"


class App:
    """GET /rev/<revision>/health answers health[revision] (what the revision's startup probe sees); GET
    /svc/health, the load balancer, answers for the revision that serves the most traffic in the Cloud Run fake
    (or `service_status` when set); GET /cand/health, the load balancer's candidate path, for the revision tagged
    "candidate" (or `candidate_status`). Records every path it was asked."""

    def __init__(self) -> None:
        self.health: dict[str, int] = {}
        self.default = 200
        self.service_status: int | None = None
        self.serving: Callable[[], dict[str, int]] = dict
        self.candidate: Callable[[], str | None] = lambda: None
        self.candidate_status: int | None = None
        self.paths: list[str] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802  # http.server's naming
                app.paths.append(self.path)
                status = app.status_for(self.path)
                body = b'{"status":"ok"}' if status < 300 else b'{"status":"bad"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def status_for(self, path: str) -> int:
        parts = path.strip("/").split("/")
        if parts[0] == "rev" and len(parts) > 1:
            return self.health.get(parts[1], self.default)
        if parts[0] == "cand":  # the load balancer's candidate path: the revision tagged "candidate"
            if self.candidate_status is not None:
                return self.candidate_status
            tagged = self.candidate()
            return self.health.get(tagged, self.default) if tagged else 404
        if parts[0] == "svc":
            if self.service_status is not None:
                return self.service_status
            serving = self.serving()
            if serving:
                return self.health.get(max(serving, key=serving.__getitem__), self.default)
            return self.default
        return 404

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app() -> Iterator[App]:
    server = App()
    yield server
    server.stop()


@pytest.fixture
def run_fake(app: App) -> Iterator[GcpFake]:
    """The Cloud Run fake: its run.app URLs refuse outside requests (the module's ingress); each new revision's
    startup probe asks the app for that revision (`app.health`); `app.url + "/svc"` plays the load balancer."""
    fake = GcpFake.start()
    state = gcp_fake_run.install(fake)
    state["startup_probe"] = lambda revision, image, path: app.status_for(f"/rev/{revision}{path}")
    app.serving = lambda: gcp_fake_run.serving(fake, SERVICE_NAME)
    app.candidate = lambda: next((t.get("revision") for t in state["services"].get(SERVICE_NAME, {}).get(
        "traffic", []) if t.get("tag") == "candidate"), None)
    yield fake
    fake.stop()


class ScriptedEcs:
    """The real moto ECS client, except that describe_services reports the scripted deployment states."""

    def __init__(self, ecs: Any, script: list[dict[str, Any]]) -> None:
        self._ecs = ecs
        self.script = script
        self.updates: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ecs, name)

    def update_service(self, **kwargs: Any) -> Any:
        self.updates.append(kwargs["taskDefinition"])
        return self._ecs.update_service(**kwargs)

    def describe_services(self, **kwargs: Any) -> Any:
        reply = self._ecs.describe_services(**kwargs)
        if self.updates and self.script:
            service = reply["services"][0]
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            service["deployments"] = [
                {
                    "status": "PRIMARY",
                    "taskDefinition": service["taskDefinition"],
                    "desiredCount": 1,
                    "runningCount": 0,
                    "pendingCount": 0,
                    **step,
                }
            ]
        return reply


@pytest.fixture
def ecs_setup(moto) -> dict[str, Any]:
    ec2 = aws_client("ec2", AWS_REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    ecs = aws_client("ecs", AWS_REGION)
    ecs.create_cluster(clusterName="billing-dev")
    td = ecs.register_task_definition(
        family="billing-dev",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        executionRoleArn="arn:aws:iam::123456789012:role/exec",
        taskRoleArn="arn:aws:iam::123456789012:role/task",
        containerDefinitions=[
            {
                "name": "app",
                "image": f"{ECR_REPO}:v1",
                "essential": True,
                "portMappings": [{"containerPort": 8000}],
                "environment": [{"name": "APP_ENV", "value": "dev"}],
                "secrets": [
                    {
                        "name": "DATABASE_URL",
                        "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
                    }
                ],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/billing/dev"}},
            }
        ],
        tags=[{"key": "service", "value": "billing"}],
    )["taskDefinition"]
    ecs.create_service(
        cluster="billing-dev",
        serviceName="billing-dev",
        taskDefinition=td["taskDefinitionArn"],
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "DISABLED"}
        },
    )
    ecr = aws_client("ecr", AWS_REGION)
    ecr.create_repository(repositoryName="billing")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + "b" * 64,
        },
        "layers": [],
    }
    ecr.put_image(
        repositoryName="billing",
        imageManifest=json.dumps(manifest),
        imageTag="v2",
        imageManifestMediaType=manifest["mediaType"],
    )
    return {"ecs": ecs, "ecr": ecr, "old_arn": td["taskDefinitionArn"]}
