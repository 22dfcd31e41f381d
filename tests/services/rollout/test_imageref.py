from __future__ import annotations

import pytest

from billingops.errors import UsageError
from billingops.imageref import parse_image

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing"
DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "value, repository, tag, digest",
    [
        ("v1.2.3", ECR, "v1.2.3", None),
        ("2026-11-25_ab12", ECR, "2026-11-25_ab12", None),
        (f"{ECR}:v2", ECR, "v2", None),
        ("localhost:5000/team/app:rc1", "localhost:5000/team/app", "rc1", None),
        (f"{ECR}@{DIGEST}", ECR, None, DIGEST),
        (
            "us-central1-docker.pkg.dev/p/app/billing/api:v3",
            "us-central1-docker.pkg.dev/p/app/billing/api",
            "v3",
            None,
        ),
    ],
)
def test_accepted_forms(value, repository, tag, digest):
    ref = parse_image(value, ECR)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)


def test_host_and_path_split():
    ref = parse_image("v1", ECR)
    assert ref.host == "123456789012.dkr.ecr.us-east-1.amazonaws.com" and ref.path == "billing"
    assert str(ref) == f"{ECR}:v1"
    assert parse_image(f"{ECR}@{DIGEST}", None).reference == DIGEST
    assert parse_image("library/app:v1", None).host == ""


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "v 1",
        ".hidden",
        "-x",
        "t" * 129,
        "a/b",
        "A/b:v1",
        "a//b:v1",
        f"{ECR}@sha256:abc",
        f"{ECR}@md5:" + "a" * 32,
        "a/b:",
        "a:b:c/d",
    ],
)
def test_rejected_forms_are_usage_errors(value):
    with pytest.raises(UsageError) as info:
        parse_image(value, ECR)
    assert info.value.exit_code == 2 and info.value.hint


def test_bare_tag_needs_a_repository():
    with pytest.raises(UsageError, match="no image repository is known"):
        parse_image("v2", None)
