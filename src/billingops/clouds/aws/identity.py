"""STS GetCallerIdentity: answered by the real account (or the sandbox's moto), so it also proves AWS is reachable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billingops.clouds.base import aws_client, aws_errors
from billingops.clouds.identity import Identity

if TYPE_CHECKING:
    from billingops.config import EnvConfig


def caller_identity(env: EnvConfig) -> Identity:
    import botocore.session

    creds = botocore.session.Session().get_credentials()
    source = creds.method if creds is not None else "none"
    with aws_errors("AWS STS GetCallerIdentity",
                    hint="Check the credentials (aws sso login, AWS_PROFILE) and network access to AWS."):
        answer = aws_client("sts", env.region).get_caller_identity()
    return Identity(principal=str(answer.get("Arn")), scope=f"account {answer.get('Account')}", source=source)
