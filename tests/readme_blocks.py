"""The README's ```python blocks, so tests can run them and the README cannot rot.

A block that passes ``es_url="http://localhost:9200"`` is a complete example that needs a
server; one that passes ``es_url=...`` is a fragment (the ``...`` stands for the reader's own
cluster and the surrounding set-up) and is not run; any other block needs no server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE_URL = '"http://localhost:9200"'

_FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


class Block:
    def __init__(self, line: int, code: str) -> None:
        self.line = line
        self.code = code

    @property
    def needs_server(self) -> bool:
        return "es_url=" in self.code

    @property
    def is_fragment(self) -> bool:
        return "es_url=..." in self.code

    def run(self, namespace: dict[str, Any], replacements: dict[str, str] | None = None) -> None:
        """Execute the block in ``namespace``; tracebacks name ``README.md:<line>``."""
        code = self.code
        for old, new in (replacements or {}).items():
            assert old in code, f"README.md:{self.line}: expected {old} in the block"
            code = code.replace(old, new)
        exec(compile(code, f"README.md:{self.line}", "exec"), namespace)

    def __repr__(self) -> str:
        return f"README.md:{self.line}"


def python_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(text.count("\n", 0, match.start(1)) + 1, match.group(1))
        for match in _FENCE.finditer(text)
    ]


def the_block(containing: str) -> Block:
    """The one block that mentions ``containing``."""
    found = [block for block in python_blocks() if containing in block.code]
    assert len(found) == 1, f"expected one README python block with {containing!r}: {found}"
    return found[0]
