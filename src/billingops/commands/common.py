"""Options every command accepts, and the Session they resolve into.

Users type the common options after the command name (`billingops deploy --env prod --json`), so each
command gets them through the `@with_session` decorator instead of repeating eight parameters: it adds
them to the command's signature, resolves configuration once, and passes a `Session` in.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from billingops.config import CLOUDS, CONFIG_FILENAME, ENVIRONMENTS, load_settings
from billingops.console import Output, setup_logging
from billingops.session import Session as BaseSession

if TYPE_CHECKING:
    from billingops.ui import UI


def _complete_env(incomplete: str) -> list[str]:
    return [name for name in ENVIRONMENTS if name.startswith(incomplete)]


def _complete_cloud(incomplete: str) -> list[str]:
    return [name for name in CLOUDS if name.startswith(incomplete)]


EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", envvar="BILLINGOPS_ENV", metavar="ENV", help="Environment: prod, staging or dev.",
                 show_envvar=True, autocompletion=_complete_env),
]
CloudOpt = Annotated[
    str | None,
    typer.Option("--cloud", envvar="BILLINGOPS_CLOUD", metavar="CLOUD",
                 help="Cloud: aws or gcp (default: the environment's).", show_envvar=True,
                 autocompletion=_complete_cloud),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document on stdout, logs on stderr.")]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, show_default=False,
                                         help="More detail on stderr (-vv for debug).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Non-interactive: answer yes where that is safe.")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="BILLINGOPS_CONFIG", metavar="FILE", help="Path to billingops.toml.",
                 show_envvar=True),
]


# The billingops deploy lock, taken by every command that changes an environment (deploy, rollout, rollback,
# db migrate, secrets seed, migrate-cloud): one spelling of its options everywhere.
NoLockOpt = Annotated[
    bool,
    typer.Option("--no-lock", help="Do not take the environment's billingops deploy lock (only when you know "
                 "nothing else deploys it)."),
]
# --- Input checks that run while the arguments are parsed: a bad value is a usage error (exit 2) naming the
# accepted forms, before any configuration, terraform or cloud call.


def duration_option(flag: str, *, help: str, minimum: float = 0.0, as_text: bool = False,
                    go: bool = False) -> Any:
    """A typer.Option taking a DURATION in the one syntax (config.parse_duration: 90s, 10m, 1h30m or seconds).

    The value is checked while the arguments are parsed (a usage error naming the accepted forms, exit 2).
    It becomes seconds (float) by default; `as_text` keeps the user's text once checked (options handed on
    as strings), `go` turns it into a terraform (Go) duration such as 600s."""

    def parse(value: Any) -> Any:
        from billingops.config import DURATION_FORMS, parse_duration
        from billingops.errors import UsageError

        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value) if as_text else float(value)
        try:
            seconds = parse_duration(str(value), flag)
        except UsageError:
            raise typer.BadParameter(f"{str(value)!r} is not a duration: use {DURATION_FORMS} "
                                     f"(e.g. {flag} 10m).") from None
        if seconds < minimum:
            raise typer.BadParameter(f"{str(value)!r} is shorter than {minimum:g}s: use {DURATION_FORMS} "
                             f"(e.g. {flag} 10m).")
        if go:
            return f"{int(seconds)}s" if seconds == int(seconds) else f"{round(seconds * 1000)}ms"
        return str(value).strip() if as_text else seconds

    return typer.Option(flag, parser=parse, metavar="DURATION", help=help)


def check_image(value: str | None) -> str | None:
    """--image callback: the reference grammar of imageref, checked before anything touches a cloud."""
    if value is None:
        return None
    from billingops.errors import UsageError
    from billingops.imageref import parse_image

    try:
        parse_image(value, "registry.invalid/check")
    except UsageError as exc:
        raise typer.BadParameter(exc.paragraph()) from None
    return value


def check_not_empty(value: str | None) -> str | None:
    """Callback for an optional text option that must not be given empty (e.g. --lock-id '')."""
    if value is not None and not value.strip():
        raise typer.BadParameter("is empty: pass a value or leave the option out.")
    return value


def choice_option(flag: str, choices: tuple[str, ...], *, metavar: str, help: str, **kwargs: Any) -> Any:
    """A typer.Option taking one of `choices`: listed in help, checked while parsing (exit 2 listing them) and
    completed by the shell."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(choices)}.")
        return value

    return typer.Option(flag, metavar=metavar, callback=check, help=f"{help} One of: {', '.join(choices)}.",
                        autocompletion=lambda incomplete: [c for c in choices if c.startswith(incomplete)],
                        **kwargs)


LockWaitOpt = Annotated[
    str | None,
    duration_option("--lock-wait", as_text=True, help="Wait this long for another run's billingops deploy lock "
                    "(e.g. 5m); without it a held lock is refused at once."),
]


def lock_wait_seconds(value: str | None) -> float:
    """--lock-wait as seconds (0 when not given); a malformed duration is a UsageError naming the option."""
    if not value:
        return 0.0
    from billingops.config import parse_duration

    return parse_duration(value, "--lock-wait")


@dataclass
class GlobalOptions:
    """What was given before the command name (`billingops --env prod status`, as kubectl and gh allow)."""

    config: Path | None = None
    verbose: int = 0
    no_color: bool = False
    env: str | None = None
    cloud: str | None = None
    json: bool = False
    yes: bool = False


@dataclass(kw_only=True)
class Session(BaseSession):
    """The use-case Session plus the Output the command renders its result with (it is also the `ui`)."""

    output: Output
    ui: UI = None  # type: ignore[assignment]  # defaults to `output`

    def __post_init__(self) -> None:
        if self.ui is None:
            self.ui = self.output


def with_session(*, env: bool = True, cloud: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command whose first parameter is `session: Session`; adds the common options."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)
        # Commands use `from __future__ import annotations`: resolve the strings so Typer sees the
        # Annotated[..., typer.Option(...)] objects (their flags and help), not bare names.
        hints = typing.get_type_hints(func, include_extras=True)
        own = [p.replace(annotation=hints.get(name, p.annotation))
               for name, p in signature.parameters.items() if name != "session"]
        common: list[tuple[str, Any]] = []
        if env:
            common.append(("env", EnvOpt))
        if cloud:
            common.append(("cloud", CloudOpt))
        common += [("json_", JsonOpt), ("verbose", VerboseOpt), ("yes", YesOpt), ("no_color", NoColorOpt),
                   ("config", ConfigOpt)]
        defaults = {"env": None, "cloud": None, "json_": False, "verbose": 0, "yes": False, "no_color": False,
                    "config": None}
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=defaults[name], annotation=ann)
                 for name, ann in common]
        own_kw = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]

        @functools.wraps(func)
        def wrapper(ctx: typer.Context, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name, _ in common}
            for name in ("env", "cloud"):
                # An explicit flag before the command beats this command's environment variable.
                if name in given and _source(ctx, name) != "COMMANDLINE":
                    given[name] = getattr(_root(ctx), name) or given[name]
            session = make_session(ctx, given)
            return func(session, **kwargs)

        ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
        wrapper.__signature__ = signature.replace(parameters=[ctx_param, *own_kw, *extra])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {"ctx": typer.Context, **{p.name: p.annotation for p in own_kw},
                                   **{name: ann for name, ann in common}}
        return wrapper

    return decorate


def _root(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()


def _source(ctx: typer.Context, name: str) -> str:
    source = ctx.get_parameter_source(name)
    return source.name if source is not None else "DEFAULT"


def make_session(ctx: typer.Context, given: dict[str, Any]) -> Session:
    root = _root(ctx)
    verbose = max(given.get("verbose") or 0, root.verbose)
    yes = bool(given.get("yes") or root.yes)
    output = Output(json_mode=bool(given.get("json_") or root.json),
                    color=not (given.get("no_color") or root.no_color), verbose=verbose, assume_yes=yes)
    setup_logging(output)
    settings = load_settings(given.get("config") or root.config)
    if settings.config_path is None and not settings.state_dir.exists():
        # Outside a project: say so before anything creates a state folder in the current directory.
        output.say(f"no {CONFIG_FILENAME} found here or above (up to the repository root or home): using the "
                   f"defaults; state will go to {settings.state_dir}", "warn")
    return Session(settings=settings, output=output, env_name=given.get("env"), cloud=given.get("cloud"), yes=yes)
