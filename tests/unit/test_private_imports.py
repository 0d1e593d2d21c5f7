"""No module of the domain uses another module's private (``_underscore``) name.

A private name is one its module may change at will; a helper that another module needs
becomes public inside its layer instead (``keys.frame``, ``entries.as_utc``...). The scan
reads the source (``ast``, so imports inside functions count too) and finds:

* ``from X import _name`` (relative or absolute), ``import X._name``;
* ``X._name`` where ``X`` is a name bound by an import (``from . import keys``,
  ``keys._frame``; or ``import pkg.keys as keys``).

Dunder names (``__version__``, ``module.__name__``) are not private. ``self._x`` and a
module's own ``_names`` are its own business. :func:`private_name_uses` takes any package
directory, so the check can be widened to the whole library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import langchain_elasticsearch_cache.domain as domain_package


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted_name(package_dir: Path) -> list[str]:
    """The import name of ``package_dir``: its folder names up to the first without
    ``__init__.py``."""
    parts: list[str] = []
    folder = package_dir.resolve()
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if not parts:
        raise ValueError(f"{package_dir} is not a package (it has no __init__.py)")
    return parts


def _module_parts(path: Path, package_dir: Path, package: list[str]) -> tuple[list[str], bool]:
    relative = path.relative_to(package_dir).with_suffix("").parts
    is_package = relative[-1] == "__init__"
    return package + list(relative[:-1] if is_package else relative), is_package


def _resolve(node: ast.ImportFrom, module: list[str], is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module if is_package else module[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imported_names(tree: ast.AST) -> set[str]:
    """Every name an import binds, at any scope of the module."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            bound |= {alias.asname or alias.name for alias in node.names}
    return bound


def _chain(node: ast.Attribute) -> tuple[str | None, list[str]]:
    """(root name, attribute names) of ``a.b.c``; root ``None`` for ``f().b``."""
    attributes: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        attributes.insert(0, current.attr)
        current = current.value
    return (current.id if isinstance(current, ast.Name) else None), attributes


def private_name_uses(package_dir: Path) -> list[str]:
    """Every use of another module's private name in the modules under ``package_dir``.

    Args:
        package_dir: A package's folder (it and its parents up to the import root have an
            ``__init__.py``); every ``.py`` file under it is read.

    Returns:
        One line per use, ``path:line: what``, sorted; empty when there is none.
    """
    package = _dotted_name(package_dir)
    found: list[str] = []
    for path in sorted(package_dir.rglob("*.py")):
        module, is_package = _module_parts(path, package_dir, package)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = _imported_names(tree)
        where = f"{path.relative_to(package_dir.parent)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(node, module, is_package)
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{where}:{node.lineno}: from {source} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if any(_is_private(part) for part in alias.name.split(".")[1:]):
                        found.append(f"{where}:{node.lineno}: import {alias.name}")
            elif isinstance(node, ast.Attribute):
                root, attributes = _chain(node)
                # each node is judged by its own (last) attribute: a.b._c.d is reported
                # once, as a.b._c (read, written or deleted alike)
                if root in imported and _is_private(attributes[-1]):
                    dotted = ".".join([root, *attributes])
                    found.append(f"{where}:{node.lineno}: {dotted}")
    return sorted(found)


def test_no_module_of_the_library_uses_another_modules_private_name() -> None:
    """Issue 16 asked it of the domain; the habit holds for every layer (DESIGN.md)."""
    uses = private_name_uses(Path(domain_package.__file__).parent.parent)
    assert uses == [], (
        "a module uses another module's private name; make the name public in its layer "
        "instead (and keep an alias if code outside uses the old one):\n" + "\n".join(uses)
    )


def test_the_domain_uses_no_other_modules_private_name() -> None:
    uses = private_name_uses(Path(domain_package.__file__).parent)
    assert uses == [], (
        "a domain module uses another module's private name; make the name public inside "
        "the domain instead (and keep an alias if code outside uses the old one):\n"
        + "\n".join(uses)
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_scan_finds_every_kind_of_private_use(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "_secret = 1\n\n\ndef helper() -> int:\n    return _secret\n",
            "pkg/relative.py": "from .a import _secret\n",
            "pkg/absolute.py": "from pkg.a import _secret as renamed\n",
            "pkg/in_function.py": (
                "def f() -> int:\n    from . import a\n\n    return a._secret\n"
            ),
            "pkg/sub/__init__.py": "",
            "pkg/sub/deep.py": (
                "from ..a import _secret\nimport pkg.a as m\nimport pkg._hidden\n\n"
                "value = m._secret\nm._secret = 2\n"
            ),
        },
    )
    assert private_name_uses(tmp_path / "pkg") == [
        "pkg/absolute.py:1: from pkg.a import _secret",
        "pkg/in_function.py:4: a._secret",
        "pkg/relative.py:1: from pkg.a import _secret",
        "pkg/sub/deep.py:1: from pkg.a import _secret",
        "pkg/sub/deep.py:3: import pkg._hidden",
        "pkg/sub/deep.py:5: m._secret",
        "pkg/sub/deep.py:6: m._secret",
    ]


def test_the_scan_leaves_public_dunder_and_own_names_alone(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            # a package may re-export from its own private module (as _async/_sync are)
            "pkg/__init__.py": "from ._impl import helper\n\n__all__ = ['helper']\n",
            "pkg/_impl.py": "from .a import helper\n",
            "pkg/a.py": (
                "from __future__ import annotations\n\nimport os\n\nfrom . import b\n\n"
                "_own = os.__name__ + b.__doc__ + b.public\n\n\n"
                "class C:\n    def m(self) -> int:\n        return self._state + len(_own)\n\n\n"
                "def helper() -> int:\n    return C()._state\n"
            ),
            "pkg/b.py": "public = 'x'\n",
        },
    )
    assert private_name_uses(tmp_path / "pkg") == []


def test_the_scan_refuses_a_folder_that_is_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a package"):
        private_name_uses(tmp_path)
