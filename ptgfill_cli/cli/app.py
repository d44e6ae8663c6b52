"""The ``ptgfill`` command: a thin layer over the Python API.

Command modules import torch lazily, inside the command, so ``--help`` is fast.
Exit codes: 0 success, 1 some inputs failed (the rest were processed),
2 usage errors (bad options, missing files, nothing to do).
"""

from __future__ import annotations

import functools
import signal
import sys
import warnings
from typing import Any, Callable, Optional

import typer
import typer.core

from ..version import __version__
from ..errors import PTGFillError
from . import benchmark, evaluate, export, inpaint, make_masks, train, weights
from .messages import error_line, os_error_line, usage_error_line

app = typer.Typer(
    name="ptgfill",
    help="Fill holes in images with PTG-Fill.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ptgfill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Fill holes in images with PTG-Fill."""
    from ..runtime.allocator import keep_freed_memory

    keep_freed_memory()  # a command's process holds its peak memory anyway; see the module


app.command("inpaint")(inpaint.command)
app.command("make-masks")(make_masks.command)
app.command("train")(train.command)
app.command("evaluate")(evaluate.command)
app.command("benchmark")(benchmark.command)
app.command("export")(export.command)
app.add_typer(weights.app, name="weights")


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """A user-facing PTGFillError becomes one line on stderr and exit code 2."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PTGFillError as error:
            typer.echo(error_line(error), err=True)
            raise typer.Exit(2) from None

    return run


class _SwitchCommand(typer.core.TyperCommand):
    """A command whose boolean options are plain switches in its help (``--overwrite``, no
    ``<bool>``, which made users type ``--overwrite true``, "true" then read as a file name)."""

    def get_params(self, ctx: Any) -> list[Any]:
        parameters = super().get_params(ctx)  # --help included
        for parameter in parameters:  # Typer's own click: test what a parameter has, not its class
            if getattr(parameter, "is_flag", False) and parameter.metavar is None:
                parameter.metavar = ""
        return parameters


def _plain_switches(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        if info.cls in (None, typer.core.TyperCommand):
            info.cls = _SwitchCommand
    for group in typer_app.registered_groups:
        _plain_switches(group.typer_instance)


def _guard(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        info.callback = _one_line_errors(info.callback)
    for group in typer_app.registered_groups:
        _guard(group.typer_instance)


_plain_switches(app)
_guard(app)


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where the program is, so that every ``finally`` (temporary
    files, the batch's threads) runs; a BaseException that Click does not turn into "Aborted!"."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A library's warning (Pillow, OpenCV, NumPy, torch) as one ptgfill line, not its raw
    two-line form with a source path."""
    text = str(message).strip()
    sys.stderr.write(f"ptgfill: warning: {text.splitlines()[0] if text else category.__name__}\n")


# Typer raises Click's exceptions from its own copy of Click (newer Typer) or from Click itself
# (older): the base class is found from the one exception class Typer exports either way.
_CLICK_ERROR = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    warnings.showwarning = _warning_line
    try:
        code = app(prog_name="ptgfill", standalone_mode=False)  # Click's exceptions come here, to be said in one line
    except _CLICK_ERROR as error:
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":  # a bare command: its help, as Click would
            help_text = context.get_help() if context else ""  # Typer's Rich help prints itself
            if help_text:
                typer.echo(help_text)
        else:
            parameter, flag, message = getattr(error, "param", None), None, error.format_message()
            if type(error).__name__ == "BadParameter" and parameter is not None:  # a value refused
                flag = max(parameter.opts, key=len) if parameter.opts else parameter.human_readable_name
                message = error.message
            typer.echo(usage_error_line(message, context.command_path if context else None, flag), err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("ptgfill: aborted", err=True)
        sys.exit(1)
    except PTGFillError as error:
        typer.echo(error_line(error), err=True)
        sys.exit(2)
    except ModuleNotFoundError as error:
        if error.name not in ("torch", "onnx", "onnxruntime"):
            raise
        extra = {"torch": "torch", "onnx": "export", "onnxruntime": "onnxruntime"}[error.name]
        hint = " (or run an exported model with --backend onnxruntime)" if error.name == "torch" else ""
        typer.echo(error_line(PTGFillError(f"this needs {error.name}, which is not installed: "
                                           f"pip install 'ptgfill[{extra}]'{hint}")), err=True)
        sys.exit(2)
    except OSError as error:  # I/O no command caught (a full disk, a read-only folder): a failed run
        typer.echo(os_error_line(error), err=True)
        sys.exit(1)
    except MemoryError:
        typer.echo("ptgfill: error: out of memory; try smaller inputs (--size, --batch-size, --max-side)", err=True)
        sys.exit(1)
    except (Interrupted, KeyboardInterrupt) as interruption:
        typer.echo("ptgfill: interrupted", err=True)
        sys.exit(128 + getattr(interruption, "signum", signal.SIGINT))
    sys.exit(code if isinstance(code, int) else 0)
