"""The `ptgfill weights` commands (being written)."""

import typer

app = typer.Typer(help="List, download and convert model weights.", no_args_is_help=True)
