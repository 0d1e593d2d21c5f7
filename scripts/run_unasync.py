"""Generate the synchronous Elasticsearch adapter from the asynchronous source.

    python scripts/run_unasync.py           # rewrite adapters/elasticsearch/_sync/*.py
    python scripts/run_unasync.py --check   # exit 1, with a diff, if _sync is stale

``_async/*.py`` is the only hand-written code; ``_sync/*.py`` is produced by ``unasync``
(token replacements below), then import-sorted and formatted by ruff so the output is
stable, and marked with a "generated" header.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "langchain_elasticsearch_cache" / "adapters" / "elasticsearch"
SOURCE = PACKAGE / "_async"
TARGET = PACKAGE / "_sync"

REPLACEMENTS = {
    "AsyncElasticsearch": "Elasticsearch",
    "AsyncElasticsearchRepository": "ElasticsearchRepository",
    "AsyncElasticsearchVectorRepository": "ElasticsearchVectorRepository",
    "AsyncRepository": "Repository",
    # the layers AsyncElasticsearchRepository is built from (_async/base.py ... purge.py)
    "AsyncRepositoryBase": "RepositoryBase",
    "AsyncIndexLifecycle": "IndexLifecycle",
    "AsyncLookups": "Lookups",
    "AsyncWrites": "Writes",
    "AsyncSearches": "Searches",
    "AsyncPurge": "Purge",
    # the layers AsyncElasticsearchVectorRepository is built from (_async/vector_*.py)
    "AsyncVectorLayout": "VectorLayout",
    "AsyncVectorIdentity": "VectorIdentity",
    "AsyncVectorWrites": "VectorWrites",
    "AsyncVectorObservations": "VectorObservations",
    "AsyncVectorPool": "VectorPool",
    "AsyncVectorSearch": "VectorSearch",
    "async_streaming_bulk": "streaming_bulk",
    "async_bulk": "bulk",
    "asyncio": "threading",  # only asyncio.Lock is used: it becomes threading.Lock
    "aclosing": "closing",
    "aclose": "close",
    "_async": "_sync",
}

HEADER = (
    "# Generated from _async/{name} by scripts/run_unasync.py: do not edit by hand.\n"
    "# Change the async source and run `python scripts/run_unasync.py`.\n"
)


def _ruff(*args: str) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "ruff", *args, "--config", str(ROOT / "pyproject.toml")],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def generate() -> dict[str, str]:
    """The generated ``_sync`` files: name -> text."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "_async").mkdir()
        sources = sorted(SOURCE.glob("*.py"))
        for path in sources:
            shutil.copy(path, work / "_async" / path.name)
        rule = unasync.Rule(
            fromdir=str(work / "_async") + "/",
            todir=str(work / "_sync") + "/",
            additional_replacements=REPLACEMENTS,
        )
        unasync.unasync_files([str(work / "_async" / path.name) for path in sources], [rule])
        generated = sorted((work / "_sync").glob("*.py"))
        files = [str(path) for path in generated]
        _ruff("check", "--quiet", "--fix", "--select", "I", *files)
        _ruff("format", "--quiet", *files)
        return {
            path.name: HEADER.format(name=path.name) + path.read_text(encoding="utf-8")
            for path in generated
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if _sync is stale"
    )
    options = parser.parse_args(argv)
    wanted = generate()
    present = {path.name: path.read_text(encoding="utf-8") for path in TARGET.glob("*.py")}
    if options.check:
        stale = False
        for name in sorted(set(wanted) | set(present)):
            old, new = present.get(name, ""), wanted.get(name, "")
            if old != new:
                stale = True
                sys.stdout.writelines(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        new.splitlines(keepends=True),
                        fromfile=f"_sync/{name} (on disk)",
                        tofile=f"_sync/{name} (generated)",
                    )
                )
        if stale:
            print("\n_sync is stale: run `python scripts/run_unasync.py`", file=sys.stderr)
            return 1
        print("_sync is up to date")
        return 0
    TARGET.mkdir(exist_ok=True)
    for name in set(present) - set(wanted):
        (TARGET / name).unlink()
    for name, text in wanted.items():
        if present.get(name) != text:
            (TARGET / name).write_text(text, encoding="utf-8")
            print(f"wrote {(TARGET / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
