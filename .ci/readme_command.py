"""Print the shell command of a README block marked ``<!-- command: NAME -->``.

The marked block is the next fenced ``bash`` block after the marker; its lines
are joined with `` && `` (comment lines dropped).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def readme_command(name: str, readme: Path) -> str:
    text = readme.read_text()
    match = re.search(rf"<!-- command: {re.escape(name)} -->\s*```(?:bash|sh)\n(.*?)```", text, re.S)
    if not match:
        raise SystemExit(f"{readme}: no block marked <!-- command: {name} -->")
    lines = [line.strip() for line in match.group(1).splitlines()]
    return " && ".join(line for line in lines if line and not line.startswith("#"))


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    print(readme_command(sys.argv[1], root / "README.md"))
