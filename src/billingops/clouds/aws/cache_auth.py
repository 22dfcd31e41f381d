"""ElastiCache IAM authentication: the short-lived token a Redis client sends as its AUTH password.

terraform/aws gives the cache IAM-authenticated users only (no AUTH token exists, so none can sit in state), so
migrate-cloud signs in as the `ops` user with a token it signs itself: a SigV4 presigned request
`GET https://<replication group id>/?Action=connect&User=<user id>` for the service `elasticache`, valid 15
minutes for opening connections, the scheme stripped (AWS: "Authenticating with IAM" in the ElastiCache guide).
The operator's principal needs `elasticache:Connect` on the replication group and on the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from billingops.errors import ConfigError

if TYPE_CHECKING:
    from billingops.config import EnvConfig

TOKEN_SECONDS = 900
OPS_USER = "ops"


def iam_auth_token(cache_id: str, user_id: str, region: str, credentials: Any) -> str:
    """The AUTH password for `user_id` on replication group `cache_id`, signed with `credentials` (botocore)."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    url = f"https://{cache_id.lower()}/?" + urlencode({"Action": "connect", "User": user_id.lower()})
    request = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(credentials, "elasticache", region, expires=TOKEN_SECONDS).add_auth(request)
    signed: str = request.url
    return signed.removeprefix("https://")


def ops_redis_url(env: EnvConfig, outputs: Mapping[str, Any]) -> str | None:
    """rediss://<ops user>:<fresh token>@<primary endpoint>:<port>/0 from the stack's outputs; None when the
    stack has no IAM Redis users (an older stack whose REDIS_URL secret carries an AUTH token)."""
    users = outputs.get("redis_users") or {}
    user = users.get(OPS_USER) if isinstance(users, Mapping) else None
    if not user:
        return None
    cache_id, host = str(outputs.get("cache_id") or ""), str(outputs.get("redis_endpoint") or "")
    if not cache_id or not host:
        raise ConfigError(
            f"The aws terraform outputs of {env.name} name the Redis user {user} but not the cache "
            "(cache_id, redis_endpoint), so no IAM token can be signed.",
            hint="Apply the aws stack (its outputs name the cache), or pass --source-redis/--target-redis URL.")
    import botocore.session

    credentials = botocore.session.Session().get_credentials()
    if credentials is None:
        raise ConfigError(
            f"No AWS credentials to sign the ElastiCache IAM token for {user} on {cache_id}.",
            hint="Sign in (AWS_PROFILE / `aws sso login`) as a principal allowed elasticache:Connect on the "
                 "cache and the user, or pass the Redis URL explicitly.")
    token = iam_auth_token(cache_id, str(user), env.region, credentials.get_frozen_credentials())
    port = int(outputs.get("redis_port") or 6379)
    return f"rediss://{quote(str(user), safe='')}:{quote(token, safe='')}@{host}:{port}/0"
