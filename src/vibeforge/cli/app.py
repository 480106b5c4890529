"""The `vibeforge` command: one Typer app, one module per command group."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import typer
from rich.markup import escape

from vibeforge.cli.common import State, console_err
from vibeforge.errors import VibeforgeError

app = typer.Typer(
    name="vibeforge",
    help="Grow an ecosystem of small language-model bots that learn a niche's vibe.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# (command group, module under vibeforge.cli exposing `app`); modules import nothing heavy at
# the top, so `vibeforge --help` stays fast.
GROUPS = [
    ("db", "db"),
    ("bot", "bot"),
    ("timeline", "timeline"),
    ("sandbox", "sandbox"),
    ("models", "models"),
    ("adapters", "adapters"),
    ("approvals", "approvals"),
    ("auth", "auth"),
    ("distill", "distill"),
]
# (command, module under vibeforge.cli, function); registered when the module exists
COMMANDS = [
    ("init", "init", "init"),
    ("demo", "demo", "demo"),
    ("run", "run", "run"),
    ("stop", "run", "stop"),
    ("trends", "trends", "trends"),
    ("dashboard", "dashboard", "dashboard"),
    ("doctor", "doctor", "doctor"),
    ("provenance", "provenance", "provenance"),
]


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Path to vibeforge.yaml (default: ./vibeforge.yaml)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    ctx.obj = State(config_path=config, debug=debug)


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    for name, module, function in COMMANDS:
        if importlib.util.find_spec(f"vibeforge.cli.{module}") is None:
            continue
        mod = importlib.import_module(f"vibeforge.cli.{module}")
        app.command(name)(getattr(mod, function))
    for name, module in GROUPS:
        mod = importlib.import_module(f"vibeforge.cli.{module}")
        app.add_typer(mod.app, name=name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    # The loop shares its cores with the sandbox, the dashboard and ingest: OpenMP threads that
    # spin while waiting starve the others (bench/rl_step.py beside one CPU-bound process:
    # 0.75x TRL spinning, 2.3x with PASSIVE). Set before torch loads; the user's value wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _register()
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, standalone_mode=False, prog_name="vibeforge")
    except VibeforgeError as exc:
        if debug:
            console_err.print_exception()
        console_err.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise SystemExit(exc.exit_code) from None
    except (typer.Abort, KeyboardInterrupt):
        console_err.print("aborted")
        raise SystemExit(130) from None
    except Exception as exc:
        usage = _click_error(exc)
        if usage is not None:  # a usage error: one line that says what to fix
            message, code = usage
            if message:  # empty: the help was shown (a group run without a command)
                console_err.print(
                    f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True
                )
            raise SystemExit(code) from None
        exit_code = _exit_code(exc)
        if exit_code is not None:
            raise SystemExit(exit_code) from None
        if debug:
            raise
        console_err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(rerun with --debug)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None


def _classes(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _click_error(exc: BaseException) -> tuple[str, int] | None:
    """(one line, exit code) for a click error, from typer's bundled click or click itself
    (matched by class name: typer >= 0.20 bundles its own copy whose classes differ)."""
    classes = _classes(exc)
    if "ClickException" not in classes:
        return None
    message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
    if "UsageError" not in classes:
        return message, int(getattr(exc, "exit_code", 1))
    if not message:
        return "", 2
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "vibeforge"
    return f"{message} (see '{path} --help')", 2


def _exit_code(exc: BaseException) -> int | None:
    """A click Exit's code (e.g. after --help), or None for any other exception."""
    if "Exit" in _classes(exc) and hasattr(exc, "exit_code"):
        return int(exc.exit_code)
    return None
