"""migrate-cloud signs in to ElastiCache as the IAM-authenticated `ops` user terraform/aws creates (no AUTH token
exists there): the token is a SigV4 presigned `connect` request, checked here by recomputing its signature from
the AWS Signature Version 4 rules, not with botocore. No ElastiCache runs here (moto does not check IAM tokens):
that a real cache accepts it rests on AWS's documentation ("Authenticating with IAM")."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
from botocore.credentials import Credentials

from billingops.clouds.aws.cache_auth import iam_auth_token, ops_redis_url
from billingops.config import EnvConfig


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _expected_signature(token: str, secret: str, region: str) -> str:
    host, _, query = token.partition("/?")
    params = parse_qsl(query, keep_blank_values=True)
    unsigned = sorted((k, v) for k, v in params if k != "X-Amz-Signature")
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in unsigned)
    # The payload hash of the empty body, as AWS's own sample signs it (Java SDK presign), not UNSIGNED-PAYLOAD.
    canonical = "\n".join(["GET", "/", canonical_query, f"host:{host}", "", "host", hashlib.sha256(b"").hexdigest()])
    stamp = dict(params)["X-Amz-Date"]
    scope = f"{stamp[:8]}/{region}/elasticache/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), stamp[:8]), region), "elasticache"), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_token_is_a_sigv4_presigned_connect_request_for_the_cache_and_user():
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token="session/token+1")
    token = iam_auth_token("Billing-Prod-Redis", "billing-prod-redis-ops", "eu-west-1", creds)
    assert not token.startswith("https://") and token.startswith("billing-prod-redis/?")
    params = dict(parse_qsl(token.partition("/?")[2]))
    assert params["Action"] == "connect" and params["User"] == "billing-prod-redis-ops"
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and params["X-Amz-Expires"] == "900"
    assert params["X-Amz-Credential"].startswith("AKIDEXAMPLE/") and params["X-Amz-Credential"].endswith(
        "/eu-west-1/elasticache/aws4_request")
    assert params["X-Amz-SignedHeaders"] == "host"
    assert params["X-Amz-Security-Token"] == "session/token+1"
    assert params["X-Amz-Signature"] == _expected_signature(token, creds.secret_key, "eu-west-1")
    other = _expected_signature(token.replace("User=billing-prod-redis-ops", "User=billing-prod-redis-app"),
                                creds.secret_key, "eu-west-1")
    assert params["X-Amz-Signature"] != other  # the signature covers the user


@pytest.fixture
def aws_prod(tmp_path) -> EnvConfig:
    from billingops.config import load_settings

    return load_settings(cwd=tmp_path).env("prod", "aws")


OUTPUTS = {"redis_users": {"app": "billing-prod-redis-app", "ops": "billing-prod-redis-ops"},
           "cache_id": "billing-prod-redis", "redis_endpoint": "master.billing-prod-redis.abc.euw1.cache.amazonaws.com",
           "redis_port": 6379}


def test_migrate_cloud_signs_in_as_the_ops_user_with_a_fresh_token(monkeypatch, aws_prod):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example-key-of-the-operator")
    url = ops_redis_url(aws_prod, OUTPUTS)
    assert url is not None
    parts = urlsplit(url)
    assert parts.scheme == "rediss" and parts.username == "billing-prod-redis-ops"
    assert parts.hostname == OUTPUTS["redis_endpoint"] and parts.port == 6379
    token = unquote(parts.password or "")
    assert token.startswith("billing-prod-redis/?Action=connect&User=billing-prod-redis-ops")
    from billingops.transfer.redis.resp import parse_url

    target = parse_url(url)  # the copier's own parser gives AUTH the token unchanged
    assert target.username == "billing-prod-redis-ops" and target.password == token


def test_a_stack_without_iam_users_keeps_the_redis_url_secret(aws_prod):
    assert ops_redis_url(aws_prod, {"redis_users": {}, "cache_id": ""}) is None


def test_endpoints_resolve_aws_redis_through_iam_and_never_show_the_token(monkeypatch, aws_prod):
    from billingops import redact
    from billingops.transfer.endpoints import resolve

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example-key-of-the-operator")
    found = resolve(source_env=aws_prod, target_env=None, want_pg=False, want_redis=True,
                    flags={"target_redis": "redis://127.0.0.1:6390/0"},
                    outputs_reader=lambda env: OUTPUTS, store_factory=lambda *a: pytest.fail("no secret read"))
    token = unquote(urlsplit(found.source_redis.url).password or "")
    assert token.startswith("billing-prod-redis/?Action=connect")
    assert token not in redact.redact(f"AUTH {token}")
    assert token not in json.dumps(found.shown()) and "billing-prod-redis-ops" in json.dumps(found.shown())
