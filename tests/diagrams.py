"""The lifecycle diagrams embedded in docs/rules.md, generated from the transition tables.

``tests/test_diagrams.py`` checks that the page holds exactly what
:func:`qiandao.rules.lifecycle_diagram` draws, so a change to a transition table fails the tests
until the page is regenerated::

    .venv/bin/python -m tests.diagrams      # rewrites the diagrams in docs/rules.md

Only the text between ``<!-- BEGIN GENERATED: diagram KIND -->`` and
``<!-- END GENERATED: diagram KIND -->`` is rewritten (the same output as
``python -m qiandao diagram KIND``, in a ``mermaid`` fence).
"""

from __future__ import annotations

import re
from pathlib import Path

from qiandao.rules.diagram import DIAGRAMS, DiagramKind, lifecycle_diagram

__all__ = ["PAGE", "embedded", "fenced", "main"]

PAGE = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
_REGION = re.compile(
    r"(<!-- BEGIN GENERATED: diagram (\w+) -->\n)(.*?)(<!-- END GENERATED: diagram \2 -->)", re.S
)


def fenced(kind: DiagramKind) -> str:
    """The region's body: the generated diagram in a Mermaid fence."""
    return f"```mermaid\n{lifecycle_diagram(kind)}```\n"


def embedded(text: str) -> dict[str, str]:
    """The body of every diagram region of a page, by kind."""
    return {match.group(2): match.group(3) for match in _REGION.finditer(text)}


def main() -> None:
    """Rewrite every diagram region of docs/rules.md from the tables."""
    text = PAGE.read_text(encoding="utf-8")
    missing = set(DIAGRAMS) - set(embedded(text))
    if missing:
        raise SystemExit(f"docs/rules.md has no region for: {', '.join(sorted(missing))}")
    kinds: dict[str, DiagramKind] = {kind: kind for kind in DIAGRAMS}
    updated = _REGION.sub(lambda m: m.group(1) + fenced(kinds[m.group(2)]) + m.group(4), text)
    PAGE.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
