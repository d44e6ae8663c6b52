"""Options several commands share, defined once: --device, --precision, --quiet, --json.

Their choices come from the library's torch-free lists, so ``--help`` stays fast and the
commands cannot drift apart.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from ..runtime.choices import DEVICE_CHOICES, PRECISIONS

Precision = Enum("Precision", {name: name for name in PRECISIONS}, type=str)  # type: ignore[misc]

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
