"""A small platform in moto (RDS, ECS, ElastiCache) and a Cloud SQL fake, for the on-call views' tests."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import pytest

from tests.support import gcp_fake_sqladmin, servers
from tests.support.gcp_fake import GcpFake

REGION = "us-east-1"


@dataclass
class AwsPlatform:
    cluster: str = "billing-staging"
    service: str = "billing-staging"
    db_instance: str = "billing-staging-postgres"
    cache_id: str = "billing-staging-redis"
    image: str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing-staging:v1.2.3"

    def flags(self) -> list[str]:
        return [
            "--cluster",
            self.cluster,
            "--service",
            self.service,
            "--db-instance",
            self.db_instance,
            "--cache-id",
            self.cache_id,
        ]


def client(service: str):
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def aws_platform(moto) -> AwsPlatform:
    platform = AwsPlatform()
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"][
        "SubnetId"
    ]
    group = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    client("rds").create_db_instance(
        DBInstanceIdentifier=platform.db_instance,
        Engine="postgres",
        EngineVersion="15.4",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=50,
        MasterUsername="billing_admin",
        MasterUserPassword="not-a-real-password-1",
        BackupRetentionPeriod=7,
        MultiAZ=False,
    )
    ecs = client("ecs")
    ecs.create_cluster(clusterName=platform.cluster)
    task = ecs.register_task_definition(
        family="billing-staging",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[{"name": "app", "image": platform.image, "essential": True}],
    )
    ecs.create_service(
        cluster=platform.cluster,
        serviceName=platform.service,
        taskDefinition=task["taskDefinition"]["taskDefinitionArn"],
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )
    client("elasticache").create_cache_cluster(
        CacheClusterId=platform.cache_id, Engine="redis", CacheNodeType="cache.t3.medium", NumCacheNodes=1
    )
    return platform


@pytest.fixture
def sql_fake():
    fake = gcp_fake_sqladmin.install(GcpFake.start())
    gcp_fake_sqladmin.add_instance(fake, "billingops-test", "billing-staging-postgres")
    yield fake
    fake.stop()


@pytest.fixture
def gcp_config(tmp_path, sql_fake):
    """A billingops.toml pointing staging/gcp at the fakes."""
    path = tmp_path / "billingops.toml"
    path.write_text(
        '[environments.staging]\ncloud = "gcp"\n[environments.staging.gcp]\nproject = "billingops-test"\n'
        f'[environments.staging.gcp.endpoints]\nsqladmin = "{sql_fake.url}"\nrun = "{sql_fake.url}"\n'
    )
    return path


@pytest.fixture(scope="session")
def views_pg():
    """The drills' own PostgreSQL cluster, under its own /tmp folder (pytest's 0700 basetemp is closed to the
    postgres user), so the row-count databases they create stay out of the shared cluster."""
    with servers.postgres_cluster("views-pg") as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cloudsql_pg():
    """A TLS PostgreSQL playing a Cloud SQL instance (tests/support/cloudsql_tls.py)."""
    from tests.support.cloudsql_tls import cloudsql_cluster

    with cloudsql_cluster() as cluster:
        yield cluster
