"""Who the cloud says the operator is: the first thing to know before changing an environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    principal: str  # an ARN, a service-account e-mail, or a description of the credentials
    scope: str | None  # "account 123456789012" or "project billing-prod"
    source: str  # where the credentials came from (env, profile, sso, application-default ...)
