"""The ```python blocks of README.md and docs/*.md, so tests can run them and the
documentation cannot rot.

A block that passes ``es_url="http://localhost:9200"`` is a complete example that needs a
server; one that passes ``es_url=...`` is a fragment (the ``...`` stands for the reader's own
cluster and the surrounding set-up) and is not run; any other block needs no server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
EXAMPLE_URL = '"http://localhost:9200"'

_FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


def documents() -> list[Path]:
    """README.md first, then every docs/*.md in name order."""
    docs = sorted(DOCS.glob("*.md"))
    assert docs, f"no documentation found in {DOCS}"
    return [README, *docs]


class Block:
    def __init__(self, source: str, line: int, code: str) -> None:
        self.source = source  # e.g. "README.md", "docs/OPERATIONS.md"
        self.line = line
        self.code = code

    @property
    def needs_server(self) -> bool:
        return "es_url=" in self.code

    @property
    def is_fragment(self) -> bool:
        return "es_url=..." in self.code

    def run(self, namespace: dict[str, Any], replacements: dict[str, str] | None = None) -> None:
        """Execute the block in ``namespace``; tracebacks name ``<file>:<line>``."""
        code = self.code
        for old, new in (replacements or {}).items():
            assert old in code, f"{self}: expected {old} in the block"
            code = code.replace(old, new)
        exec(compile(code, str(self), "exec"), namespace)

    def __repr__(self) -> str:
        return f"{self.source}:{self.line}"


def python_blocks(document: Path | None = None) -> list[Block]:
    """The blocks of ``document``, or of every document (README.md first) in reading order."""
    found: list[Block] = []
    for path in [document] if document is not None else documents():
        text = path.read_text(encoding="utf-8")
        source = path.relative_to(ROOT).as_posix()
        found.extend(
            Block(source, text.count("\n", 0, match.start(1)) + 1, match.group(1))
            for match in _FENCE.finditer(text)
        )
    return found


def the_block(containing: str) -> Block:
    """The one block, in all the documentation, that mentions ``containing``."""
    found = [block for block in python_blocks() if containing in block.code]
    assert len(found) == 1, f"expected one python block with {containing!r}: {found}"
    return found[0]
