"""Package discovery: every package under ptgfill_cli/, plus weights/ shipped as
ptgfill_cli.bundled_weights (mapped in pyproject.toml), which discovery alone
cannot see. Everything else lives in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["ptgfill_cli", "ptgfill_cli.*"]), "ptgfill_cli.bundled_weights"])
