"""Only trusted folders are used as the provider mirror; STORAGE_EMULATOR_HOST over http only on loopback."""

from __future__ import annotations

import os

import pytest

from billingops.errors import BillingOpsError
from billingops.sandbox.mirror import find_provider_mirror


@pytest.fixture
def search_root(tmp_path, monkeypatch):
    monkeypatch.delenv("BILLINGOPS_PROVIDER_MIRROR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "root"
    root.mkdir()
    return root


def _mirror(root, name):
    folder = root / name
    (folder / "registry.terraform.io").mkdir(parents=True)
    return folder


def test_a_world_writable_mirror_is_skipped(search_root):
    planted = _mirror(search_root, "aaa")
    os.chmod(planted / "registry.terraform.io", 0o777)
    good = _mirror(search_root, "bbb")
    assert find_provider_mirror(search_root) == good


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_mirror_owned_by_someone_else_is_skipped(search_root):
    planted = _mirror(search_root, "aaa")
    os.chown(planted, 65534, 65534)
    assert find_provider_mirror(search_root) is None


def test_the_explicit_mirror_is_taken_as_given(search_root, monkeypatch):
    monkeypatch.setenv("BILLINGOPS_PROVIDER_MIRROR", str(search_root / "mine"))
    assert find_provider_mirror(search_root) == search_root / "mine"


@pytest.mark.parametrize("host", ["storage.example.com:4443", "http://10.0.0.5:4443", "http://evil.test"])
def test_storage_emulator_over_http_only_on_loopback(monkeypatch, host):
    from billingops.locks.gcs import storage_client

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)
    with pytest.raises(BillingOpsError, match="not this machine"):
        storage_client({}, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["127.0.0.1:4443", "http://localhost:4443", "http://[::1]:4443"])
def test_storage_emulator_on_loopback_is_accepted(monkeypatch, host):
    from billingops.locks.gcs import storage_client

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)
    assert storage_client({}, None)  # type: ignore[arg-type] is not None
