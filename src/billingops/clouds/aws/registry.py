"""ECR: does the image exist? Checked before anything changes, so a typo in a tag touches nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from billingops.clouds.base import aws_client, aws_errors
from billingops.config import EnvConfig
from billingops.errors import UsageError
from billingops.imageref import ImageRef

log = logging.getLogger(__name__)

_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
)


class EcrRegistry:
    def __init__(self, ecr: Any) -> None:
        self.ecr = ecr

    @classmethod
    def from_env(cls, env: EnvConfig, outputs: Mapping[str, Any] | None = None) -> EcrRegistry:
        return cls(aws_client("ecr", env.region))

    def require(self, image: ImageRef) -> str:
        """The image's digest; UsageError (exit 2) when the repository or the tag/digest does not exist."""
        match = _ECR_HOST.fullmatch(image.host)
        if not match:
            raise UsageError(
                f"The image {image} is not in an Amazon ECR registry, so billingops cannot check that it exists "
                "before deploying it.",
                hint="Push the image to the environment's ECR repository and pass its tag (or "
                "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG).",
            )
        image_id = {"imageDigest": image.digest} if image.digest else {"imageTag": image.tag}
        from botocore.exceptions import ClientError

        with aws_errors(f"Looking up {image} in ECR"):
            try:
                reply = self.ecr.describe_images(registryId=match["account"], repositoryName=image.path,
                                                 imageIds=[image_id])
            except ClientError as exc:
                _raise_missing(exc, image, match["account"])
                raise
        details = reply.get("imageDetails") or []
        if not details:
            raise UsageError(f"The image {image} does not exist in ECR: nothing was changed.",
                             hint="Push the image, then retry.")
        digest: str = details[0].get("imageDigest", "")
        log.debug("ECR %s -> %s", image, digest)
        return digest


def _raise_missing(exc: Any, image: ImageRef, account: str) -> None:
    code = exc.response.get("Error", {}).get("Code")
    if code == "ImageNotFoundException":
        raise UsageError(
            f"The image {image} does not exist in ECR repository {image.path!r}: nothing was changed.",
            hint=f"Check the tag (`aws ecr describe-images --repository-name {image.path}` lists them), push the "
            "image, then retry.",
        ) from None
    if code == "RepositoryNotFoundException":
        raise UsageError(
            f"The ECR repository {image.path!r} does not exist in account {account}: nothing was changed.",
            hint="Check the repository in --image / image_repository, or run the deploy's apply step that "
                 "creates it.",
        ) from None
