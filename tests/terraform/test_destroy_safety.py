"""No apply can delete prod data silently, and the AWS hardening items of issue 15, read from the parsed HCL:
final snapshots (RDS, Redis), secret recovery windows, KMS deletion windows, deletion protection, protected state,
load balancer access logs, WAF log redaction, the 5xx alarm's FILL and the KMS service grants' SourceAccount."""

from __future__ import annotations

import re

import pytest

from .conftest import ENVS, TERRAFORM, Module, load_hcl, tfvars

AWS = Module(TERRAFORM / "aws")


def _resources(module: Module, rtype: str) -> dict[str, dict]:
    return {name: body for parsed in module.files.values() for block in parsed.get("resource", [])
            for kind, named in block.items() if kind == rtype for name, body in named.items()}


def _variable_default(module: Module, name: str):
    return module.variables[name].get("default")


def _effective(env: str, name: str):
    values = tfvars("aws", env)
    return values[name] if name in values else _variable_default(AWS, name)


def test_prod_keeps_every_kind_of_data_on_destroy():
    assert _effective("prod", "deletion_protection") is True
    assert _effective("prod", "final_snapshot") is True
    assert _effective("prod", "secret_recovery_window_days") >= 7
    assert _effective("prod", "kms_deletion_window_days") == 30


def test_rds_follows_deletion_protection_and_final_snapshot():
    db = _resources(AWS.child("modules/database"), "aws_db_instance")["this"]
    assert db["deletion_protection"] == "${var.deletion_protection}"
    assert db["skip_final_snapshot"] == "${!var.final_snapshot}"
    assert db["delete_automated_backups"] is False


def test_redis_takes_a_final_snapshot_when_asked():
    cache = AWS.child("modules/cache")
    group = _resources(cache, "aws_elasticache_replication_group")["this"]
    assert "final_snapshot" in group["final_snapshot_identifier"]
    assert AWS.module_calls["cache"]["final_snapshot"] == "${var.final_snapshot}"


@pytest.mark.parametrize("module", ["modules/database", "modules/secrets"])
def test_secrets_have_a_recovery_window(module):
    for name, secret in _resources(AWS.child(module), "aws_secretsmanager_secret").items():
        assert secret["recovery_window_in_days"].startswith("${var."), name


def test_state_is_protected():
    bootstrap = Module(TERRAFORM / "aws" / "bootstrap")
    for rtype, name in [("aws_s3_bucket", "state"), ("aws_kms_key", "env"), ("aws_dynamodb_table", "lock")]:
        body = _resources(bootstrap, rtype)[name]
        assert body["lifecycle"][0]["prevent_destroy"] is True, f"{rtype}.{name}"
    gcp = Module(TERRAFORM / "gcp" / "bootstrap")
    for rtype, name in [("google_storage_bucket", "state"), ("google_kms_crypto_key", "state")]:
        assert _resources(gcp, rtype)[name]["lifecycle"][0]["prevent_destroy"] is True


def test_load_balancer_logs_to_a_bucket_the_module_creates():
    service = AWS.child("modules/service")
    assert _variable_default(service, "enable_access_logs") is True
    lb = _resources(service, "aws_lb")["this"]
    assert lb["dynamic"][0]["access_logs"]["for_each"] == "${var.enable_access_logs ? [local.access_logs_bucket] : []}"
    assert "aws_s3_bucket_policy.access_logs" in lb["depends_on"][0]
    assert "access_logs" in _resources(service, "aws_s3_bucket")
    # ELB refuses SSE-KMS buckets for access logs
    sse = _resources(service, "aws_s3_bucket_server_side_encryption_configuration")["access_logs"]
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"


def test_waf_logs_redact_credentials():
    service = AWS.child("modules/service")
    logging = _resources(service, "aws_wafv2_web_acl_logging_configuration")["this"]
    assert logging["dynamic"][0]["redacted_fields"]["for_each"] == "${var.waf_redacted_headers}"
    assert set(_variable_default(service, "waf_redacted_headers")) == {"authorization", "cookie", "stripe-signature"}


def test_5xx_alarm_fills_missing_metrics_with_zero():
    alarm = _resources(AWS.child("modules/monitoring"), "aws_cloudwatch_metric_alarm")["error_rate"]
    queries = {q["id"]: q for q in alarm["metric_query"]}
    expression = queries["rate"]["expression"]
    metrics = [q for q in queries if q != "rate"]
    for metric in metrics:
        assert f"FILL({metric}, 0)" in expression, f"{metric} is not FILLed: {expression}"
    assert not re.search(r"(?<!FILL\()\b(" + "|".join(metrics) + r")\b(?!, 0\))", expression)


def test_kms_service_grants_carry_source_account():
    text = AWS.child("modules/kms").text
    alarms = text[text.index("alarms = {"):]
    assert '"aws:SourceAccount" = data.aws_caller_identity.current.account_id' in alarms


def test_execution_role_decrypts_only_through_secrets_manager():
    text = AWS.child("modules/service").text
    block = text[text.index('sid       = "DecryptAppSecrets"'):]
    block = block[:block.index("\n  }\n")]
    assert 'variable = "kms:ViaService"' in block and "secretsmanager.${var.region}.amazonaws.com" in block


@pytest.mark.parametrize("env", ENVS)
def test_backend_of_every_env_names_its_own_key(env):
    config = load_hcl(TERRAFORM / "aws" / "envs" / f"{env}.backend.hcl")
    assert config["kms_key_id"].endswith(f"-{env}")


def test_alerts_route_by_severity_and_monitoring_follows_the_environment():
    monitoring = AWS.child("modules/monitoring")
    topics = _resources(monitoring, "aws_sns_topic")["alerts"]
    assert topics["for_each"] == "${local.severities}"
    assert '["critical", "warning", "info"]' in monitoring.text
    alarm = _resources(monitoring, "aws_cloudwatch_metric_alarm")["this"]
    assert alarm["alarm_actions"] == ['${aws_sns_topic.alerts[split("-", each.key)[0]].arn}']
    assert _resources(monitoring, "aws_cloudwatch_event_target")["ecs"]["arn"] == '${aws_sns_topic.alerts["info"].arn}'
    assert "alert_subscriptions" in AWS.module_calls["monitoring"]
    assert {env: _effective(env, "monitoring_level") for env in ENVS} == {
        "prod": "enhanced", "staging": "basic", "dev": "minimal"}
