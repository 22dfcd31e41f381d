"""Container image references: what `--image` accepts, validated before anything touches a cloud.

Accepted forms (the Docker reference grammar, restricted to what a deploy needs):
  v1.2.3                      a tag in the environment's repository
  REPO:TAG                    a tag in an explicit repository (registry host and port allowed)
  REPO@sha256:<64 hex>        an immutable digest
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from billingops.errors import UsageError

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]+)?"
)

_FORMS = "a tag (v1.2.3), REPOSITORY:TAG, or REPOSITORY@sha256:<64 hex digits>"


@dataclass(frozen=True)
class ImageRef:
    repository: str  # registry host + path, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """The part after the repository: the tag or the digest."""
        return self.digest or self.tag or ""

    @property
    def host(self) -> str:
        first = self.repository.split("/", 1)[0]
        return (
            first if ("." in first or ":" in first or first == "localhost") and "/" in self.repository else ""
        )

    @property
    def path(self) -> str:
        """The repository without its registry host."""
        return self.repository[len(self.host) + 1:] if self.host else self.repository

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"


def parse_image(value: str, default_repository: str | None) -> ImageRef:
    """Parse `--image`; a bare tag resolves against `default_repository`. Raises UsageError (exit 2)."""
    text = (value or "").strip()
    if not text:
        raise UsageError("--image is empty.", hint=f"Pass {_FORMS}.")
    if any(ch.isspace() for ch in text):
        raise UsageError(f"--image {value!r} contains whitespace.", hint=f"Pass {_FORMS}.")
    if "@" in text:
        repository, _, digest = text.partition("@")
        if not _DIGEST.fullmatch(digest):
            raise UsageError(
                f"--image {value!r} has a malformed digest {digest!r}: a digest is sha256: followed "
                "by 64 lowercase hex digits.",
                hint=f"Pass {_FORMS}.",
            )
        return ImageRef(_check_repository(repository, value), digest=digest)
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        repository, tag = text[:colon], text[colon + 1:]
        _check_tag(tag, value)
        return ImageRef(_check_repository(repository, value), tag=tag)
    if slash >= 0:
        raise UsageError(f"--image {value!r} names a repository but no tag or digest.",
                         hint=f"Add :TAG or @sha256:... (billingops never deploys an implicit 'latest'). "
                              f"Accepted: {_FORMS}.")
    _check_tag(text, value)
    if not default_repository:
        raise UsageError(
            f"--image {value!r} is a bare tag, but no image repository is known for this environment.",
            hint="Pass the full REPOSITORY:TAG, or set image_repository in billingops.toml (or "
            "BILLINGOPS_IMAGE_REPOSITORY).",
        )
    return ImageRef(_check_repository(default_repository, default_repository), tag=text)


def _check_tag(tag: str, value: str) -> None:
    if not _TAG.fullmatch(tag):
        raise UsageError(
            f"--image {value!r}: {tag!r} is not a valid image tag (letters, digits, '_', '.', '-'; at most 128 "
            "characters; not starting with '.' or '-').",
            hint=f"Pass {_FORMS}.",
        )


def _check_repository(repository: str, value: str) -> str:
    parts = repository.split("/")
    host = (
        parts[0] if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost") else ""
    )
    path = parts[1:] if host else parts
    if (
        (host and not _HOST.fullmatch(host))
        or not path
        or not all(_PATH_COMPONENT.fullmatch(p) for p in path)
    ):
        raise UsageError(
            f"--image {value!r}: {repository!r} is not a valid repository (lowercase path components separated "
            "by '/', optionally after a registry host).",
            hint=f"Pass {_FORMS}.",
        )
    return repository
