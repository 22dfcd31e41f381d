"""Terraform's HCL files as plain Python values: tfvars, backend settings, the root module's `terraform` block.

python-hcl2 reads any HCL, but importing it and loading its grammar tables costs ~0.2 s of CPU: a third of a
`billingops locks` run, paid by every command that finds a state lock or reads tfvars. The files billingops
reads are nearly always literals (`key = "value"` lines, lists, maps, nested blocks), so those are parsed here
directly. Anything beyond literals (references, expressions, templates, heredocs, escapes other than \\" and
\\\\, negative or exponent numbers) makes the fast path give up, and python-hcl2 reads the text as before: both
paths give the same values (tests/terraform/test_hcl.py compares them on generated documents).

Values come back without python-hcl2's markers: strings unquoted, no `__is_block__` / `__comments__` keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from billingops.errors import ConfigError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A string without templates (`${`, `%{`, and their `$${` / `%%{` escapes) and with \" and \\ as its only escapes.
_STRING = re.compile(r'"((?:[^"\\\n$%]|\\["\\]|[$%](?![{$%]))*)"')
_ESCAPE = re.compile(r'\\(["\\])')
# Exponents and signs are left out: python-hcl2 returns those as "${...}" expression strings.
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?![0-9A-Za-z_.])")
_KEYWORDS = {"true": True, "false": False, "null": None}
_SPACE = re.compile(r"[ \t]+")
_MARKERS = ("__is_block__", "__comments__", "__inline_comments__")  # python-hcl2 v8 adds these


class _Beyond(Exception):  # noqa: N818  # not an error: the text needs the full parser
    """The text uses HCL beyond literals."""


def loads(text: str, source: str = "HCL text") -> dict[str, Any]:
    """The body of an HCL file (tfvars, backend config) as plain values. Raises ConfigError if it is not HCL."""
    try:
        return _Literal(text).document()
    except _Beyond:
        return _full(text, source)


def load_file(path: Path) -> dict[str, Any]:
    return loads(_read(path), str(path))


def terraform_blocks(path: Path) -> list[dict[str, Any]]:
    """The top-level `terraform { ... }` blocks of a .tf file (where the backend is declared)."""
    text = _read(path)
    try:
        return _Literal(text).blocks_named("terraform")
    except _Beyond:
        found = _full(text, str(path)).get("terraform", [])
        return [b for b in found if isinstance(b, dict)] if isinstance(found, list) else []


def clean(value: Any) -> Any:
    """python-hcl2 v8's output without its markers: quotes of string literals, __is_block__, __comments__."""
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items() if k not in _MARKERS}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.",
                          hint="Check that the file exists and is readable.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.", hint="Terraform reads HCL as UTF-8: save it as such.") from None


def _full(text: str, source: str) -> dict[str, Any]:
    import hcl2

    try:
        parsed: dict[str, Any] = clean(hcl2.loads(text))
        return parsed
    except Exception as exc:  # noqa: BLE001  # python-hcl2 raises lark errors of many types for bad syntax
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{source} is not valid HCL: {first}.",
                          hint="Fix the syntax (`terraform fmt` shows where), then retry.") from None


class _Literal:
    """A recursive-descent reader of literal HCL; raises _Beyond at the first thing it does not know."""

    def __init__(self, text: str) -> None:
        self.text = text.replace("\r\n", "\n")
        self.pos = 0

    # -- the two entry points ------------------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        return self._body(closing=False)

    def blocks_named(self, kind: str) -> list[dict[str, Any]]:
        """Parse the top-level blocks of type `kind`; step over every other top-level block unread."""
        found: list[dict[str, Any]] = []
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                return found
            name = self._ident()
            self._skip(newlines=False)
            if name == kind and self._peek("{"):
                found.append(self._block_body())
            else:
                while not self._peek("{"):  # labels: quoted strings or identifiers
                    self._label()
                    self._skip(newlines=False)
                self.pos = _Skipper(self.text, self.pos).braces()
            self._end_of_item()

    # -- grammar ------------------------------------------------------------------------------------------
    def _body(self, closing: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        attributes: set[str] = set()
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                if closing:
                    raise _Beyond
                return out
            if closing and self._peek("}"):
                self.pos += 1
                return out
            name = self._ident()
            self._skip(newlines=False)
            if self._peek("="):
                self.pos += 1
                self._skip(newlines=False)
                if name in out:
                    raise _Beyond  # a repeated attribute is an error terraform reports; python-hcl2 keeps the last
                out[name] = self._value()
                attributes.add(name)
            else:
                labels = []
                while not self._peek("{"):
                    labels.append(self._label())
                    self._skip(newlines=False)
                node: Any = self._block_body()
                for label in reversed(labels):
                    node = {label: node}
                if name in attributes:
                    raise _Beyond
                out.setdefault(name, []).append(node)
            self._end_of_item()

    def _block_body(self) -> dict[str, Any]:
        self.pos += 1  # the "{"
        self._skip(newlines=False)
        if self._peek("}"):
            self.pos += 1
            return {}
        if self._peek("\n"):
            return self._body(closing=True)
        name = self._ident()  # a one-line block holds one attribute
        self._skip(newlines=False)
        self._expect("=")
        self._skip(newlines=False)
        value = self._value()
        self._skip(newlines=False)
        self._expect("}")
        return {name: value}

    def _value(self) -> Any:
        text, pos = self.text, self.pos
        char = text[pos] if pos < len(text) else ""
        if char == '"':
            return self._string()
        if char.isdigit():
            match = _NUMBER.match(text, pos)
            if not match:
                raise _Beyond
            self.pos = match.end()
            return float(match.group()) if "." in match.group() else int(match.group())
        if char == "[":
            return self._tuple()
        if char == "{":
            return self._object()
        match = _IDENT.match(text, pos)
        if match and match.group() in _KEYWORDS and not text.startswith((".", "[", "("), match.end()):
            self.pos = match.end()
            return _KEYWORDS[match.group()]
        raise _Beyond  # references, functions, operators, heredocs, negative numbers

    def _tuple(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            self._skip(newlines=True)
            if self._peek("]"):
                self.pos += 1
                return items
            items.append(self._value())
            self._skip(newlines=True)
            if self._peek(","):
                self.pos += 1
            elif not self._peek("]"):
                raise _Beyond

    def _object(self) -> dict[str, Any]:
        self.pos += 1
        items: dict[str, Any] = {}
        while True:
            self._skip(newlines=True)
            if self._peek("}"):
                self.pos += 1
                return items
            key = self._string() if self._peek('"') else self._ident()
            self._skip(newlines=False)
            if not (self._peek("=") or self._peek(":")):
                raise _Beyond
            self.pos += 1
            self._skip(newlines=False)
            if key in items:
                raise _Beyond
            items[key] = self._value()
            self._skip(newlines=False)
            if self._peek(","):
                self.pos += 1
            elif not self._peek("\n") and not self._peek("}"):
                raise _Beyond

    # -- tokens -------------------------------------------------------------------------------------------
    def _string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        if not match:
            raise _Beyond
        self.pos = match.end()
        return _ESCAPE.sub(r"\1", match.group(1))

    def _ident(self) -> str:
        match = _IDENT.match(self.text, self.pos)
        if not match:
            raise _Beyond
        self.pos = match.end()
        return match.group()

    def _label(self) -> str:
        return self._string() if self._peek('"') else self._ident()

    def _peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def _expect(self, token: str) -> None:
        if not self._peek(token):
            raise _Beyond
        self.pos += len(token)

    def _end_of_item(self) -> None:
        """An attribute or block ends its line."""
        self._skip(newlines=False)
        if self.pos < len(self.text) and not self._peek("\n"):
            raise _Beyond

    def _skip(self, newlines: bool) -> None:
        """Step over spaces and comments, and newlines too when `newlines`."""
        text = self.text
        while self.pos < len(text):
            match = _SPACE.match(text, self.pos)
            if match:
                self.pos = match.end()
                continue
            char = text[self.pos]
            if char == "\n" and newlines:
                self.pos += 1
            elif char == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end  # the newline itself is left for the caller
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise _Beyond
                if not newlines and "\n" in text[self.pos:end]:
                    raise _Beyond  # a comment spanning lines where a line may not end
                self.pos = end + 2
            else:
                break


class _Skipper:
    """Steps over one brace-delimited block of any HCL, unread: strings with templates, heredocs, comments."""

    _HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)\n")
    _CLOSING = {"{": "}", "[": "]", "(": ")"}

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def braces(self) -> int:
        """From the "{" at pos to just after its "}"; returns that position."""
        self._balanced()
        return self.pos

    def _balanced(self) -> None:
        text = self.text
        stack = [self._CLOSING[text[self.pos]]]
        self.pos += 1
        while stack:
            if self.pos >= len(text):
                raise _Beyond
            char = text[self.pos]
            if char in self._CLOSING:
                stack.append(self._CLOSING[char])
                self.pos += 1
            elif char in ")]}":
                if stack.pop() != char:
                    raise _Beyond
                self.pos += 1
            elif char == '"':
                self._string()
            elif char == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise _Beyond
                self.pos = end + 2
            elif text.startswith("<<", self.pos):
                self._heredoc()
            else:
                self.pos += 1

    def _string(self) -> None:
        text = self.text
        self.pos += 1
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\":
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return
            elif char == "\n":
                raise _Beyond
            elif char in "$%" and text.startswith(char + char + "{", self.pos):
                self.pos += 3  # an escaped template start
            elif char in "$%" and text.startswith("{", self.pos + 1):
                self.pos += 1
                self._balanced()  # the template's expression, strings inside it included
            else:
                self.pos += 1
        raise _Beyond

    def _heredoc(self) -> None:
        match = self._HEREDOC.match(self.text, self.pos)
        if not match:
            raise _Beyond
        marker = match.group(1)
        pos = match.end()
        while True:
            end = self.text.find("\n", pos)
            line = self.text[pos:] if end < 0 else self.text[pos:end]
            if line.strip() == marker:
                self.pos = len(self.text) if end < 0 else end
                return
            if end < 0:
                raise _Beyond
            pos = end + 1
