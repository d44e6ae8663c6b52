"""Options several commands share, defined once: --device, --precision, --quiet, --json.

Their choices come from the library's torch-free lists, so ``--help`` stays fast and the
commands cannot drift apart.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Iterable

import typer

from ..config import ATTENTION_MODES
from ..runtime.choices import DEVICE_CHOICES, PRECISIONS, UPSCALE_MODES


def choices(name: str, values: Iterable[str]) -> Any:
    """The library's choices as an Enum, so that ``--help`` lists them and Click refuses others
    (commands pass on ``.value``)."""
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[misc]


def with_range(text: str, allowed: str) -> str:
    """Help text that ends with the values a number may take, as the library's check states them."""
    return f"{text.rstrip('.')} ({allowed})."


Precision = choices("Precision", PRECISIONS)
Attention = choices("Attention", ATTENTION_MODES)
Upscale = choices("Upscale", UPSCALE_MODES)

Device = Annotated[str, typer.Option("--device", help=f"Where the network runs: {DEVICE_CHOICES}.")]
PrecisionChoice = Annotated[
    Precision,
    typer.Option("--precision", help="Network arithmetic: fp32, or bf16 / fp16 autocast (faster where the "
                                     "device supports it; values change slightly)."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]


def json_flag(help: str = "Print the result as JSON on stdout, nothing else.") -> Any:
    """The --json switch; what it prints differs by command, so the help is given."""
    return typer.Option("--json", help=help)


def warn_deprecated(old: str, new: str) -> None:
    """A spelling kept for old scripts: it still works, and says what to write instead."""
    typer.echo(f"ptgfill: warning: {old} is deprecated and will go; write {new}", err=True)


def table_console(stderr: bool = False) -> Any:
    """A Rich console for tables: on a terminal, its width; piped or redirected, as wide as the
    rows need, so no cell is folded or cut (scripts should still prefer --json)."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal:
        console = Console(stderr=stderr, width=100_000, no_color=True)
    return console
