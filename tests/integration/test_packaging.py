"""The package as users get it: the wheel built from this tree, installed into a fresh venv.

Checks what an editable install hides: that the wheel holds the package and only the package,
that ``py.typed`` ships (so a user's ``mypy`` reads our annotations instead of treating every
import as ``Any``), that the console script is installed, and that the metadata PyPI shows
(classifiers, licence) is there.

No network: the wheel is built with ``--no-build-isolation`` from the hatchling of the test
environment (the ``test`` extra installs it), and installed with ``--no-deps --no-index``.
The fresh venv sees the test environment's dependencies (langchain-core, elasticsearch, ...)
through a ``.pth`` line naming those site-packages directories, as plain paths: the editable
install's own ``.pth`` there is not processed, so the package can only come from the wheel,
which every test asserts rather than assumes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import site
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "langchain_elasticsearch_cache"
SOURCE = ROOT / "src" / PACKAGE
# the test-node launcher lives in the repository's lecache_devtools, never in the wheel
DEVTOOLS = "lecache_devtools"
LAUNCHER_MODULES = frozenset(
    {"node", "node_cli", "cluster", "jdk", "distribution", "tls", "process", "security_index"}
)
DIST_NAME = "langchain-elasticsearch-cache"
SCRIPT = "langchain-elasticsearch-cache"
# a hang guard for the subprocesses, not a timed assertion
HANG_GUARD_SECONDS = 600


def _run(args: list[str | Path], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "MYPYPATH"}
    }
    env["PYTHONNOUSERSITE"] = "1"
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, (
        f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel of this tree, built offline."""
    try:
        import hatchling  # noqa: F401
    except ImportError:
        pytest.fail(
            "hatchling is not installed in the test environment, so the wheel cannot be built "
            "offline; install the test extra: pip install -e '.[test]'",
            pytrace=False,
        )
    out = tmp_path_factory.mktemp("dist")
    _ok(
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "--check-build-dependencies",
                "--wheel-dir",
                out,
                ROOT,
            ],
            cwd=out,
        ),
        "building the wheel",
    )
    _ok(
        _run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", out], cwd=ROOT),
        "building the sdist",
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist_dir: Path) -> Path:
    (found,) = dist_dir.glob(f"{PACKAGE}-*.whl")
    return found


@pytest.fixture(scope="module")
def sdist(dist_dir: Path) -> Path:
    (found,) = dist_dir.glob(f"{PACKAGE}-*.tar.gz")
    return found


class FreshEnv:
    def __init__(self, root: Path) -> None:
        self.root = root
        bin_dir = root / ("Scripts" if os.name == "nt" else "bin")
        self.python = bin_dir / ("python.exe" if os.name == "nt" else "python")
        self.script = bin_dir / (SCRIPT + (".exe" if os.name == "nt" else ""))
        self.site_packages = Path(
            _ok(
                _run(
                    [self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    cwd=root,
                ),
                "asking the fresh venv for its site-packages",
            ).strip()
        )

    def python_json(self, code: str) -> dict[str, object]:
        """Run ``code`` (which prints one JSON object) with the fresh venv's interpreter,
        from a directory that holds no copy of the package."""
        out = _ok(_run([self.python, "-c", code], cwd=self.root), "the fresh venv's python")
        result: dict[str, object] = json.loads(out)
        return result


@pytest.fixture(scope="module")
def fresh_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshEnv:
    """A new venv with the wheel installed and the test environment's dependencies visible."""
    root = tmp_path_factory.mktemp("fresh-venv")
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    env = FreshEnv(root)
    _ok(
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                env.python,
                "install",
                "--no-deps",
                "--no-index",
                wheel,
            ],
            cwd=root,
        ),
        "installing the wheel into the fresh venv",
    )
    dependency_dirs = [*site.getsitepackages(), site.getusersitepackages()]
    (env.site_packages / "_test_environment_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in dependency_dirs if Path(path).is_dir())
    )
    return env


def test_wheel_holds_the_package_its_marker_and_licence_and_nothing_else(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(name.split("/")[0] for name in names if ".dist-info/" in name)
    stray = [n for n in names if not n.startswith((f"{PACKAGE}/", f"{dist_info}/"))]
    assert stray == [], f"files outside the package in the wheel: {stray}"
    assert f"{PACKAGE}/py.typed" in names
    assert f"{dist_info}/licenses/LICENSE" in names
    # the generated sync adapter is a real module of the package, not a build artefact
    assert f"{PACKAGE}/adapters/elasticsearch/_sync/repository.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert f"{SCRIPT} = {PACKAGE}.interfaces.cli:main" in entry_points


def test_wheel_ships_every_library_module_and_the_contract_suites_but_no_node_launcher(
    wheel: Path,
) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(name.split("/")[0] for name in names if ".dist-info/" in name)
    modules = sorted(name for name in names if name.endswith(".py"))
    sources = sorted(
        f"{PACKAGE}/{path.relative_to(SOURCE).as_posix()}"
        for path in SOURCE.rglob("*.py")
        if "__pycache__" not in path.parts
    )
    assert modules == sources, "the wheel's modules differ from src/"
    assert f"{PACKAGE}/py.typed" in names
    assert f"{dist_info}/licenses/LICENSE" in names
    # what a user needs to check an adapter of their own, and nothing that starts nodes
    testing = sorted(
        name.removeprefix(f"{PACKAGE}/testing/")
        for name in names
        if name.startswith(f"{PACKAGE}/testing/")
    )
    assert testing == ["__init__.py", "contract.py", "vector_contract.py"]
    launchers = [name for name in modules if PurePosixPath(name).stem in LAUNCHER_MODULES]
    assert launchers == [], f"node launcher modules in the wheel: {launchers}"
    assert [name for name in names if DEVTOOLS in name] == []


def test_sdist_holds_the_sources_and_licence_but_no_local_state(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        f"src/{PACKAGE}/__init__.py",
        f"src/{PACKAGE}/py.typed",
    ):
        assert needed in names, f"{needed} missing from the sdist"
    local_state = (".venv/", ".mypy_cache/", ".pytest_cache/", "dist/", "build/", ".git/")
    leaked = [n for n in names if n.startswith(local_state) or "__pycache__" in n]
    assert leaked == [], f"local state in the sdist: {leaked[:10]}"


def test_package_imports_from_the_fresh_venv_with_its_marker(fresh_env: FreshEnv) -> None:
    found = fresh_env.python_json(
        textwrap.dedent(
            f"""
            import importlib.metadata, json, pathlib
            import {PACKAGE} as package
            from {PACKAGE} import ElasticsearchCache, InMemoryLlmCache
            dist = importlib.metadata.distribution("{DIST_NAME}")
            here = pathlib.Path(package.__file__).parent
            print(json.dumps({{
                "file": package.__file__,
                "dist_at": str(dist.locate_file("")),
                "py_typed": (here / "py.typed").is_file(),
                "version": package.__version__,
                "dist_version": dist.version,
            }}))
            """
        )
    )
    site_packages = fresh_env.site_packages.resolve()
    assert Path(str(found["file"])).resolve().is_relative_to(site_packages), found
    assert not Path(str(found["file"])).resolve().is_relative_to(ROOT / "src"), found
    assert Path(str(found["dist_at"])).resolve() == site_packages, found
    assert found["py_typed"] is True
    assert found["version"] == found["dist_version"]


def test_users_get_the_contract_suites_but_no_node_launcher(fresh_env: FreshEnv) -> None:
    found = fresh_env.python_json(
        textwrap.dedent(
            f"""
            import importlib.util, json
            from {PACKAGE}.testing.contract import LlmRepositoryContract
            from {PACKAGE}.testing.vector_contract import VectorRepositoryContract
            print(json.dumps({{
                "contracts": [
                    importlib.util.find_spec(cls.__module__).origin
                    for cls in (LlmRepositoryContract, VectorRepositoryContract)
                ],
                "launcher": [
                    name for name in {sorted(f"{PACKAGE}.testing.{m}" for m in LAUNCHER_MODULES)}
                    if importlib.util.find_spec(name) is not None
                ],
                "devtools": importlib.util.find_spec("{DEVTOOLS}") is not None,
            }}))
            """
        )
    )
    contracts = found["contracts"]
    assert isinstance(contracts, list) and len(contracts) == 2, found
    site_packages = fresh_env.site_packages.resolve()
    assert all(Path(str(path)).resolve().is_relative_to(site_packages) for path in contracts)
    assert found["launcher"] == [], found
    assert found["devtools"] is False, found


def test_metadata_shows_classifiers_licence_and_keywords(fresh_env: FreshEnv) -> None:
    meta = fresh_env.python_json(
        textwrap.dedent(
            f"""
            import importlib.metadata, json
            metadata = importlib.metadata.metadata("{DIST_NAME}")
            print(json.dumps({{
                "classifiers": metadata.get_all("Classifier") or [],
                "license": metadata.get("License-Expression"),
                "license_files": metadata.get_all("License-File") or [],
                "requires_python": metadata.get("Requires-Python"),
                "keywords": metadata.get("Keywords"),
                "urls": metadata.get_all("Project-URL") or [],
            }}))
            """
        )
    )
    classifiers = meta["classifiers"]
    assert isinstance(classifiers, list)
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert meta["license"] == "MIT"
    assert meta["license_files"] == ["LICENSE"]
    # PEP 639: a licence expression and "License ::" classifiers exclude each other
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert "langchain" in str(meta["keywords"]).split(",")
    assert "elasticsearch" in str(meta["keywords"]).split(",")

    # the Python versions listed start at requires-python's floor and leave no gap
    floor = re.fullmatch(r">=\s*3\.(\d+)", str(meta["requires_python"]))
    assert floor, f"unexpected Requires-Python {meta['requires_python']!r}"
    minors = sorted(
        int(c.rsplit(".", 1)[1])
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert minors, "no 'Programming Language :: Python :: 3.x' classifiers"
    assert minors == list(range(int(floor.group(1)), minors[-1] + 1)), minors

    from trove_classifiers import classifiers as known  # installed with hatchling

    assert [c for c in classifiers if c not in known] == []


def test_console_script_runs_from_the_fresh_venv(fresh_env: FreshEnv) -> None:
    assert fresh_env.script.is_file(), f"{SCRIPT} was not installed into {fresh_env.root}"
    first_line = fresh_env.script.read_text().splitlines()[0]
    assert first_line == f"#!{fresh_env.python}", first_line  # the fresh venv's interpreter
    out = _ok(_run([fresh_env.script, "--help"], cwd=fresh_env.root), f"{SCRIPT} --help")
    assert out.startswith(f"usage: {SCRIPT}")
    for command in ("stats", "purge", "clear", "export", "import", "demo"):
        assert command in out


USER_CODE = """\
from datetime import timedelta

from langchain_elasticsearch_cache import ElasticsearchCache, InMemoryLlmCache

memory_cache = InMemoryLlmCache(ttl=timedelta(days=1))
hits: int = memory_cache.statistics.hits
hit_rate: float = memory_cache.statistics.hit_rate

not_a_count: str = memory_cache.statistics.hits  # ERROR-1
ElasticsearchCache(index_name=42, es_url="http://localhost:9200")  # ERROR-2
"""


def test_users_type_checker_sees_the_annotations(fresh_env: FreshEnv, tmp_path: Path) -> None:
    """mypy, told to use the fresh venv, reports a user's type errors against our classes;
    without ``py.typed`` it would instead refuse the import as untyped."""
    if importlib.util.find_spec("mypy") is None:
        pytest.fail(
            "mypy is not installed in the test environment; install the dev extra: "
            "pip install -e '.[test,dev]'",
            pytrace=False,
        )
    (tmp_path / "user_code.py").write_text(USER_CODE)
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    result = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            tmp_path / "mypy.ini",
            "--cache-dir",
            tmp_path / "mypy-cache",
            "--python-executable",
            fresh_env.python,
            "--verbose",
            "user_code.py",
        ],
        cwd=tmp_path,
    )
    report = result.stdout
    assert "import-untyped" not in report and "import-not-found" not in report, report
    expected_lines = sorted(
        number for number, line in enumerate(USER_CODE.splitlines(), start=1) if "# ERROR-" in line
    )
    error_lines = sorted(
        int(match.group(1)) for match in re.finditer(r"^user_code\.py:(\d+): error:", report, re.M)
    )
    assert error_lines == expected_lines, report
    assert re.search(r'has type "int", variable has type "str"', report), report
    assert re.search(r'"index_name" to "ElasticsearchCache" has incompatible type "int"', report)
    assert result.returncode == 1, report

    # the annotations mypy read are the installed ones, not those of src/
    parsed = re.search(rf"Parsing (\S+) \({PACKAGE}\)", result.stderr)
    assert parsed, result.stderr[-2000:]
    assert Path(parsed.group(1)).resolve().is_relative_to(fresh_env.site_packages.resolve())
