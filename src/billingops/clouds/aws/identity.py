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


def local_credentials(env: EnvConfig) -> Identity:
    """The credentials boto3 would use, found without calling AWS (the deploy preflight's quick check)."""
    import botocore.session

    from billingops.errors import CloudError

    try:
        creds = botocore.session.Session().get_credentials()
    except Exception as exc:  # noqa: BLE001  # botocore raises many profile/SSO error types
        raise CloudError(f"AWS credentials could not be resolved: {type(exc).__name__}",
                         hint="Fix the AWS profile / SSO login (aws sso login, AWS_PROFILE).") from None
    if creds is None:
        raise CloudError("no AWS credentials found", hint="Configure credentials: aws configure, AWS_PROFILE or "
                                                          "aws sso login.")
    return Identity("AWS credentials", None, str(creds.method))
