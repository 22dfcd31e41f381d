"""billingops.terraform.hcl: literal HCL read without python-hcl2, giving exactly python-hcl2's values, and
python-hcl2 for everything beyond literals."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import hcl2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billingops.errors import ConfigError
from billingops.terraform import hcl

REPO = Path(__file__).resolve().parents[2]


def _fast(text: str):
    return hcl._Literal(text).document()


def _reference(text: str):
    return hcl.clean(hcl2.loads(text))


# -- generated literal documents -------------------------------------------------------------------------------
_idents = st.from_regex(r"[a-z_][a-z0-9_-]{0,8}", fullmatch=True).filter(lambda s: s not in ("true", "false", "null"))
# Every character that matters to the string syntax, plus plain and non-ASCII text.
_chars = st.sampled_from(list('ab Z09"\\$%{}#/*=é€\t') + ["${", "%{", "$${"])
_strings = st.lists(_chars, max_size=8).map("".join)


def _render_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_scalars = st.one_of(
    _strings.map(_render_string),
    st.integers(min_value=0, max_value=10**20).map(str),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.sampled_from(["true", "false", "null"]),
)


def _collections(inner):
    items = st.lists(inner, max_size=4)
    keys = st.one_of(_idents, _strings.filter(lambda s: "$" not in s and "%" not in s).map(_render_string))
    pairs = st.dictionaries(keys, inner, max_size=4)
    return st.one_of(
        st.tuples(items, st.booleans()).map(lambda t: "[" + ", ".join(t[0]) + ("," if t[1] and t[0] else "") + "]"),
        st.tuples(items).map(lambda t: "[\n" + ",\n".join(t[0]) + "\n]"),
        st.tuples(pairs, st.sampled_from([" = ", ": "])).map(
            lambda t: "{" + ", ".join(f"{k}{t[1]}{v}" for k, v in t[0].items()) + "}"),
        pairs.map(lambda p: "{\n" + "".join(f"  {k} = {v}\n" for k, v in p.items()) + "}"),
    )


_values = st.recursive(_scalars, _collections, max_leaves=8)
_comments = st.sampled_from(["", "  # a comment", "  // another", "  /* inline */"])


@st.composite
def _documents(draw, depth: int = 0) -> str:
    lines = []
    names = draw(st.lists(_idents, max_size=5, unique=True))
    for name in names:
        if depth < 2 and draw(st.booleans()):
            labels = draw(st.lists(_strings.filter(lambda s: "$" not in s and "%" not in s), max_size=2))
            head = " ".join([name, *(_render_string(label) for label in labels)])
            body = draw(_documents(depth + 1))
            lines.append(f"{head} {{\n{textwrap.indent(body, '  ')}}}" if body else f"{head} {{}}")
            if draw(st.booleans()):  # a second block of the same type: python-hcl2 lists them
                lines.append(f"{name} {{\n}}")
        else:
            lines.append(f"{name} = {draw(_values)}{draw(_comments)}")
    return "".join(line + "\n" for line in lines)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_literal_documents_read_as_python_hcl2_reads_them(text):
    try:
        fast = _fast(text)
    except hcl._Beyond:
        # Only templates may send a generated document to python-hcl2.
        assert "${" in text or "%{" in text or "$$" in text or "%%" in text or "$%" in text or "%$" in text, text
        return
    assert fast == _reference(text), text


# -- what goes to python-hcl2 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    'a = var.x\n', 'a = -1\n', 'a = 1e3\n', 'a = "${var.x}"\n', 'a = "$${literal}"\n', 'a = upper("x")\n',
    'a = <<EOT\nhello\nEOT\n', 'a = 1 + 2\n', 'a = [for x in y : x]\n', 'a = "tab\\there"\n', 'a = 1\na = 2\n',
    'b "l" {\n  c = x.y\n}\n',
])
def test_anything_beyond_literals_is_read_by_python_hcl2(text):
    with pytest.raises(hcl._Beyond):
        _fast(text)
    assert hcl.loads(text) == _reference(text)


@pytest.mark.parametrize("text", ['a = "unterminated\n', "a = \n", "b {\n", "a = [1, 2\n", "a = 1.\n",
                                  "a = {\n  k =\n  1\n}\n"])
def test_bad_hcl_is_a_config_error_naming_the_source(text):
    with pytest.raises(ConfigError, match="dev.tfvars is not valid HCL"):
        hcl.loads(text, "dev.tfvars")


# -- the terraform block of a whole module file ------------------------------------------------------------------
MODULE = textwrap.dedent('''
    # a { brace in a comment, and } one more
    locals {
      name   = "billing-${var.environment}"
      braces = "${jsonencode({ a = "}" })}"
      policy = <<-EOT
        { "not": "a block" }
        terraform {
      EOT
      escaped = "$${not.a.template} %%{ neither }"
    }
    /* terraform { backend "local" {} } */
    resource "aws_s3_bucket" "b" {
      bucket = "x" // terraform {
      tags   = { for k, v in var.tags : k => "${v}}" }
    }
    terraform {
      required_version = ">= 1.11"
      required_providers {
        aws = { source = "hashicorp/aws", version = "~> 5.100" }
      }
      backend "s3" {
        bucket       = "state"
        use_lockfile = true
        endpoints    = { s3 = "http://127.0.0.1:1" }
      }
    }
    output "url" {
      value = "https://${aws_lb.x.dns_name}/"
    }
''')


def test_the_terraform_block_is_found_among_any_hcl(tmp_path):
    path = tmp_path / "main.tf"
    path.write_text(MODULE)
    assert hcl._Literal(MODULE).blocks_named("terraform") == _reference(MODULE)["terraform"]
    assert hcl.terraform_blocks(path)[0]["backend"] == [
        {"s3": {"bucket": "state", "use_lockfile": True, "endpoints": {"s3": "http://127.0.0.1:1"}}}]


def test_a_broken_module_file_is_a_config_error(tmp_path):
    path = tmp_path / "main.tf"
    path.write_text('resource "x" "y" {\n  a = "unterminated\n}\n')
    with pytest.raises(ConfigError, match="main.tf is not valid HCL"):
        hcl.terraform_blocks(path)


def _bundled() -> list[Path]:
    return sorted(p for p in (REPO / "terraform").rglob("*")
                  if p.suffix in (".tf", ".tfvars", ".hcl") and ".terraform" not in p.parts)


@pytest.mark.parametrize("path", _bundled(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_bundled_file_reads_as_python_hcl2_reads_it(path):
    reference = _reference(path.read_text())
    if path.suffix == ".tf":
        assert hcl.terraform_blocks(path) == reference.get("terraform", [])
    else:
        assert _fast(path.read_text()) == reference  # tfvars and backend settings: literals, no fallback


def test_finding_the_bundled_modules_backend_does_not_load_python_hcl2():
    """The point of the fast path: `locks`, `unlock`, `deploy`'s preflight pay no grammar load."""
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from billingops.config.environments import resolve_env
        from billingops.config.loading import load_settings
        from billingops.locks.backend_config import load_backend_config
        from billingops.services.deploy.preflight import read_tfvars
        out = {{}}
        for cloud in ("aws", "gcp"):
            env = resolve_env(load_settings(None, Path({str(REPO)!r})), "staging", cloud)
            out[cloud] = load_backend_config(env).type
            read_tfvars(env.tfvars_path)
        print(json.dumps([out, "hcl2" in sys.modules, "lark" in sys.modules]))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"aws": "s3", "gcp": "gcs"}, False, False]
