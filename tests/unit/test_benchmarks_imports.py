"""The benchmarks use only public names: of the library, of the dev tooling, and of each other.

A benchmark that reaches into ``adapters.elasticsearch._sync`` or imports ``_node`` from
another benchmark module breaks silently when that private code moves; the scan below
reads every ``benchmarks/*.py`` with ``ast`` and lists each private import it finds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
#: Packages whose private names the benchmarks must not use (third-party ones are not ours).
OURS = ("langchain_elasticsearch_cache", "lecache_devtools", "benchmarks")


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def _ours(module: str) -> bool:
    return module.split(".")[0] in OURS


def private_imports(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: what`` for every private name of ours that ``source`` imports or uses."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    imported: set[str] = set()  # local names bound to our modules or their members
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and not _ours(module):
                continue
            shown = "." * node.level + module
            for alias in node.names:
                imported.add(alias.asname or alias.name)
                if _private(module) or _private(alias.name):
                    found.append(f"{filename}:{node.lineno}: from {shown} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if not _ours(alias.name):
                    continue
                imported.add(alias.asname or alias.name.split(".")[0])
                if _private(alias.name):
                    found.append(f"{filename}:{node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"{filename}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from .run import _node", "from .run import _node"),
        ("from benchmarks.semantic import _sentence", "import _sentence"),
        (
            "from langchain_elasticsearch_cache.adapters.elasticsearch._sync.vector_repository "
            "import DEFAULT_NUM_CANDIDATES",
            "._sync.vector_repository import DEFAULT_NUM_CANDIDATES",
        ),
        ("from ._helpers import thing", "from ._helpers import thing"),
        ("import langchain_elasticsearch_cache._version", "import langchain_elasticsearch_cache"),
        ("from benchmarks import run\nrun._node('x', 'y')", "run._node"),
        ("import lecache_devtools.node as n\nn._log('x')", "n._log"),
    ],
)
def test_the_scan_finds_a_private_import(source: str, expected: str) -> None:
    found = private_imports(source)
    assert len(found) == 1, found
    assert expected in found[0]


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "from langchain_core._api import LangChainBetaWarning",  # not ours to police
        "from .run import node\nfrom .harness import Contender",
        "from langchain_elasticsearch_cache.adapters.elasticsearch import DEFAULT_NUM_CANDIDATES",
        "class A:\n    def f(self):\n        return self._private",
    ],
)
def test_the_scan_accepts_public_names(source: str) -> None:
    assert private_imports(source) == []


def test_the_benchmarks_import_no_private_name() -> None:
    files = sorted(BENCHMARKS.glob("*.py"))
    assert len(files) > 5  # the scan reads the real directory
    found = [
        line
        for path in files
        for line in private_imports(path.read_text(encoding="utf-8"), path.name)
    ]
    assert found == []
