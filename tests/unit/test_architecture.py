"""The domain stays pure: checked on the source, not hoped for.

Every module under ``domain/`` is parsed (not imported) and each ``import`` and
``from ... import`` statement, relative ones resolved against the module's package and
those under ``if TYPE_CHECKING`` or inside functions included, must avoid the outer
layers, the Elasticsearch client and any I/O module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "langchain_elasticsearch_cache"
DOMAIN_DIR = Path(__file__).resolve().parents[2] / "src" / PACKAGE / "domain"

FORBIDDEN = (
    f"{PACKAGE}.adapters",
    f"{PACKAGE}.interfaces",
    f"{PACKAGE}.testing",
    "elasticsearch",
    "elastic_transport",
    "socket",
    "ssl",
    "http",
    "urllib",
    "urllib3",
    "requests",
    "httpx",
    "aiohttp",
    "asyncio",
    "subprocess",
    "threading",
    "multiprocessing",
    "os",
    "io",
    "pathlib",
    "shutil",
    "sqlite3",
    "time",
    "importlib",
)


def _is_forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN)


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def imported_modules(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """``(line, absolute module)`` for every import in ``source``.

    ``from pkg import name`` yields both ``pkg`` and ``pkg.name`` (``name`` may be a
    submodule), so ``from .. import adapters`` is caught as ``<package>.adapters``.
    """
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                keep = len(package_parts) - (node.level - 1)
                if keep <= 0:
                    raise ValueError(f"{module}: relative import beyond the top package")
                base = ".".join(package_parts[:keep])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{target}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
        ):
            yield node.lineno, "importlib"  # a dynamic import is an import we cannot see


def violations(root: Path, package: str) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root, package)
        source = path.read_text(encoding="utf-8")
        for line, target in imported_modules(source, module, is_package=path.name == "__init__.py"):
            if _is_forbidden(target):
                found.append(f"{path.name}:{line} imports {target}")
    return found


def test_domain_modules_exist() -> None:
    names = {p.name for p in DOMAIN_DIR.glob("*.py")}
    assert {"keys.py", "entries.py", "codecs.py", "expiry.py", "ports.py"} <= names


def test_domain_imports_nothing_forbidden() -> None:
    assert violations(DOMAIN_DIR, f"{PACKAGE}.domain") == []


# --- the checker can fail -----------------------------------------------------------------

BAD_MODULES = {
    "absolute_adapter": "from langchain_elasticsearch_cache.adapters.memory import X\n",
    "relative_adapter": "from ..adapters import memory\n",
    "relative_package_name": "from .. import interfaces\n",
    "relative_testing": "from ..testing.contract import Suite\n",
    "elasticsearch": "import elasticsearch\n",
    "elastic_transport": "from elastic_transport import Transport\n",
    "os_dotted": "import os.path\n",
    "asyncio_aliased": "import asyncio as aio\n",
    "urllib_request": "from urllib.request import urlopen\n",
    "time": "import time\n",
    "in_function": "def f():\n    import socket\n    return socket\n",
    "type_checking": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import threading\n",
    "dunder_import": "mod = __import__('subprocess')\n",
}


@pytest.mark.parametrize("name", sorted(BAD_MODULES))
def test_checker_flags_a_synthetic_bad_module(tmp_path: Path, name: str) -> None:
    domain = tmp_path / "domain"
    domain.mkdir()
    (domain / "__init__.py").write_text("from .ok import thing\n")
    (domain / "ok.py").write_text("import hashlib\nfrom datetime import datetime\nthing = 1\n")
    (domain / "bad.py").write_text(BAD_MODULES[name])

    found = violations(domain, f"{PACKAGE}.domain")
    assert len(found) >= 1
    assert all(entry.startswith("bad.py:") for entry in found)


def test_checker_accepts_pure_imports(tmp_path: Path) -> None:
    domain = tmp_path / "domain"
    domain.mkdir()
    (domain / "__init__.py").write_text("from .keys import K\nfrom . import errors\n")
    (domain / "keys.py").write_text(
        "import hashlib\nimport attrs\nfrom .errors import E\n"
        "from langchain_core.outputs import Generation\nimport osmium_like_name\n"
        "import timeit_is_not_time\n"
    )
    (domain / "errors.py").write_text("class E(Exception): ...\n")
    assert violations(domain, f"{PACKAGE}.domain") == []


def test_relative_imports_resolve_against_the_package() -> None:
    found = dict(
        (target, line)
        for line, target in imported_modules(
            "from ..adapters import memory\nfrom . import keys\nfrom .entries import R\n",
            f"{PACKAGE}.domain.codecs",
            is_package=False,
        )
    )
    assert f"{PACKAGE}.adapters.memory" in found
    assert f"{PACKAGE}.domain.keys" in found
    assert f"{PACKAGE}.domain.entries" in found
    from_init = {
        target
        for _, target in imported_modules(
            "from .codecs import C\n", f"{PACKAGE}.domain", is_package=True
        )
    }
    assert f"{PACKAGE}.domain.codecs" in from_init
