"""The provider override of the sandbox: valid HCL, every service terraform/aws uses redirected."""

from __future__ import annotations

import io
import re

import hcl2
import pytest

from billingops.sandbox.override import AWS_SERVICES, moto_server_command, render_aws_provider_override

from .conftest import TERRAFORM, unquote

# Resource/data type prefix -> the provider's endpoint name for the API it calls.
_SERVICE_OF_PREFIX = {
    "aws_acm_": "acm", "aws_appautoscaling_": "appautoscaling", "aws_cloudwatch_log_": "logs",
    "aws_cloudwatch_": "cloudwatch", "aws_db_": "rds", "aws_dynamodb_": "dynamodb", "aws_ecr_": "ecr",
    "aws_ecs_": "ecs", "aws_elasticache_": "elasticache", "aws_lb": "elbv2", "aws_iam_": "iam",
    "aws_kms_": "kms", "aws_route53_": "route53", "aws_s3_": "s3", "aws_secretsmanager_": "secretsmanager",
    "aws_sns_": "sns", "aws_wafv2_": "wafv2", "aws_cloudwatch_event_": "events", "aws_caller_identity": "sts",
    "aws_vpc": "ec2", "aws_subnet": "ec2",
    "aws_route": "ec2", "aws_internet_gateway": "ec2", "aws_nat_gateway": "ec2", "aws_eip": "ec2",
    "aws_flow_log": "ec2", "aws_default_security_group": "ec2", "aws_security_group": "ec2",
    "aws_availability_zones": "ec2",
}
_NO_API = {"aws_partition", "aws_iam_policy_document", "aws_elb_service_account"}  # computed locally by the provider


def _used_types() -> set[str]:
    types = set()
    for path in (TERRAFORM / "aws").rglob("*.tf"):
        if "bootstrap" in path.parts:
            continue
        types |= set(re.findall(r'^(?:resource|data)\s+"(aws_[a-z0-9_]+)"', path.read_text(), re.M))
    return types - _NO_API


def _parse(text: str) -> list[dict]:
    return unquote(hcl2.load(io.StringIO(text)))["provider"]


def test_every_used_service_has_an_endpoint():
    for resource_type in sorted(_used_types()):
        service = next((s for p, s in sorted(_SERVICE_OF_PREFIX.items(), key=lambda i: -len(i[0]))
                        if resource_type.startswith(p)), None)
        assert service is not None, f"map {resource_type} to its endpoint in this test"
        assert service in AWS_SERVICES, f"{resource_type} calls {service}: the override does not redirect it"


def test_override_is_valid_hcl_for_every_provider_alias():
    providers = _parse(render_aws_provider_override("http://127.0.0.1:5000/", "us-east-1"))
    configs = [p["aws"] for p in providers]
    assert {c.get("alias") for c in configs} == {None, "replica"}
    for config in configs:
        assert config["region"] == "us-east-1"
        assert config["max_retries"] == 2
        assert config["s3_use_path_style"] is True
        assert config["skip_credentials_validation"] is True
        assert config["skip_metadata_api_check"] is True
        assert config["skip_requesting_account_id"] is False
        assert (config["access_key"], config["secret_key"]) == ("test", "test")
        endpoints = {k: v for e in config["endpoints"] for k, v in e.items()}
        assert endpoints == {s: "http://127.0.0.1:5000" for s in AWS_SERVICES}


@pytest.mark.parametrize("bad", ["127.0.0.1:5000", "ftp://x", ""])
def test_override_rejects_non_http_endpoints(bad):
    with pytest.raises(ValueError):
        render_aws_provider_override(bad, "us-east-1")


def test_moto_server_command_is_an_argv_list():
    argv = moto_server_command("127.0.0.1", 5123, python="/usr/bin/python3")
    # -I: isolated, so a json.py or moto.py in the working directory is never imported by the emulator
    assert argv[0] == "/usr/bin/python3" and argv[1:3] == ["-I", "-c"]
    assert argv[-4:] == ["-H", "127.0.0.1", "-p", "5123"]
    compile(argv[3], "<moto bootstrap>", "exec")
