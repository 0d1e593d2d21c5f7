"""Build the semantic-cache evaluation set from the hand-written sources.

    python scripts/make_eval_pairs.py           # rewrite evaluation/data/pairs*.jsonl
    python scripts/make_eval_pairs.py --check   # exit 1 if either file is stale

The sources are in ``scripts/eval_pairs_source/`` (hand-written by the project; see the
README next to ``pairs.jsonl``):

* ``plain_*.txt``: plain-text prompt pairs, as an LLM (not chat) model hands them to a cache;
* ``holdout.txt``: the small held-out set (``pairs-holdout.jsonl``), plain-text pairs written
  apart from the main set, to check that the hit guard's rules were not fitted to it;
* ``chat.txt``: long system prompts, user questions and short conversations. These become
  chat prompts serialised with ``langchain_core.load.dumps(messages)``, which is exactly the
  string a LangChain chat model passes to ``cache.lookup``, so the set exercises the
  cache's prompt splitting on real input rather than on a hand-made imitation.

Each output line is ``{"a", "b", "same", "category", "format"}`` (``format`` is ``text`` or
``chat``). The build refuses duplicates (in either order), identical sides and malformed
source lines, so a bad edit fails here rather than skewing a calibration.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from langchain_core.load import dumps
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "scripts" / "eval_pairs_source"
DATA = ROOT / "src" / "langchain_elasticsearch_cache" / "evaluation" / "data"
OUTPUT = DATA / "pairs.jsonl"
HOLDOUT_SOURCE = SOURCE / "holdout.txt"
HOLDOUT_OUTPUT = DATA / "pairs-holdout.jsonl"

_PLAIN_HEADER = re.compile(r"^\[(?P<category>[a-z_]+) same=(?P<same>true|false)\]$")
_CHAT_HEADER = re.compile(r"^\[(?P<kind>[a-z_]+) (?P<name>[a-z_]+)\]$")

# chat source sections: kind -> number of "||"-separated fields on each line
_CHAT_FIELDS = {"system": 1, "questions": 2, "multiturn": 5, "multiturn_paraphrase": 4}

Record = dict[str, object]


class SourceError(Exception):
    """A source line the build cannot use; the message names the file and line."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def _fields(path: Path, number: int, line: str, count: int) -> list[str]:
    fields = [field.strip() for field in line.split("||")]
    if len(fields) != count or not all(fields):
        raise SourceError(
            f"{path.name}:{number}: expected {count} non-empty field(s) separated by '||', "
            f"got {len(fields)}: {line!r}"
        )
    return fields


def _record(a: str, b: str, same: bool, category: str, fmt: str) -> Record:
    return {"a": a, "b": b, "same": same, "category": category, "format": fmt}


def plain_records(path: Path) -> list[Record]:
    """The pairs of one ``plain_*.txt`` file, in file order."""
    records: list[Record] = []
    section: tuple[str, bool] | None = None
    for number, line in _lines(path):
        header = _PLAIN_HEADER.match(line)
        if header:
            section = (header["category"], header["same"] == "true")
            continue
        if section is None:
            raise SourceError(f"{path.name}:{number}: a pair before any [category same=...]")
        a, b = _fields(path, number, line, 2)
        records.append(_record(a, b, section[1], section[0], "text"))
    return records


def _chat(*messages: BaseMessage) -> str:
    return dumps(list(messages))


def chat_records(path: Path) -> list[Record]:
    """The chat-formatted pairs built from ``chat.txt``, in file order."""
    systems: dict[str, str] = {}
    sections: dict[tuple[str, str], list[list[str]]] = {}
    current: tuple[str, str] | None = None
    for number, line in _lines(path):
        header = _CHAT_HEADER.match(line)
        if header:
            if header["kind"] not in _CHAT_FIELDS:
                raise SourceError(f"{path.name}:{number}: unknown section {header['kind']!r}")
            current = (header["kind"], header["name"])
            sections.setdefault(current, [])
            continue
        if current is None:
            raise SourceError(f"{path.name}:{number}: a line before any section header")
        fields = _fields(path, number, line, _CHAT_FIELDS[current[0]])
        if current[0] == "system":
            if current[1] in systems:
                raise SourceError(f"{path.name}:{number}: a second line for [system {current[1]}]")
            systems[current[1]] = fields[0]
        else:
            sections[current].append(fields)

    records: list[Record] = []
    for (kind, name), rows in sections.items():
        if kind == "system":
            continue
        if name not in systems:
            raise SourceError(f"{path.name}: [{kind} {name}] has no [system {name}]")
        system = SystemMessage(content=systems[name])
        if kind == "questions":
            for question, paraphrase in rows:
                records.append(
                    _record(
                        _chat(system, HumanMessage(content=question)),
                        _chat(system, HumanMessage(content=paraphrase)),
                        True,
                        "chat_paraphrase",
                        "chat",
                    )
                )
            for (question, _), (other, _) in zip(rows, rows[1:] + rows[:1], strict=True):
                records.append(
                    _record(
                        _chat(system, HumanMessage(content=question)),
                        _chat(system, HumanMessage(content=other)),
                        False,
                        "chat_other_question",
                        "chat",
                    )
                )
        elif kind == "multiturn":
            for first, answer, other_first, other_answer, follow_up in rows:
                records.append(
                    _record(
                        _chat(
                            system,
                            HumanMessage(content=first),
                            AIMessage(content=answer),
                            HumanMessage(content=follow_up),
                        ),
                        _chat(
                            system,
                            HumanMessage(content=other_first),
                            AIMessage(content=other_answer),
                            HumanMessage(content=follow_up),
                        ),
                        False,
                        "multiturn_earlier_turn",
                        "chat",
                    )
                )
        else:  # multiturn_paraphrase
            for first, answer, follow_up, paraphrase in rows:
                earlier = (system, HumanMessage(content=first), AIMessage(content=answer))
                records.append(
                    _record(
                        _chat(*earlier, HumanMessage(content=follow_up)),
                        _chat(*earlier, HumanMessage(content=paraphrase)),
                        True,
                        "multiturn_paraphrase",
                        "chat",
                    )
                )
    return records


def build() -> list[Record]:
    """Every pair of the main set, checked (see :func:`checked`)."""
    records = [
        record for path in sorted(SOURCE.glob("plain_*.txt")) for record in plain_records(path)
    ]
    records += chat_records(SOURCE / "chat.txt")
    return checked(records)


def build_holdout(main: list[Record]) -> list[Record]:
    """The held-out set, checked, and sharing no prompt with the main set."""
    records = checked(plain_records(HOLDOUT_SOURCE))
    main_prompts = {record[side] for record in main for side in ("a", "b")}
    for index, record in enumerate(records):
        for side in ("a", "b"):
            if record[side] in main_prompts:
                raise SourceError(
                    f"holdout pair {index} ({record['category']}) reuses a prompt of the main "
                    f"set: {record[side]!r}; a held-out set must be new sentences"
                )
    return records


def checked(records: list[Record]) -> list[Record]:
    """The records, refused on identical sides or a duplicate pair in either order."""
    seen: dict[frozenset[object], int] = {}
    for index, record in enumerate(records):
        if record["a"] == record["b"]:
            raise SourceError(f"pair {index} ({record['category']}) has identical sides")
        key = frozenset((record["a"], record["b"]))
        if key in seen:
            raise SourceError(
                f"pair {index} ({record['category']}) repeats pair {seen[key]}: {record['a']!r}"
            )
        seen[key] = index
    return records


def render(records: list[Record]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def summary(records: list[Record]) -> str:
    counts = Counter((str(record["category"]), bool(record["same"])) for record in records)
    positives = sum(count for (_, same), count in counts.items() if same)
    lines = [f"{len(records)} pairs: {positives} same, {len(records) - positives} different"]
    lines += [
        f"  {category:<26} {'same' if same else 'different':<9} {count}"
        for (category, same), count in sorted(counts.items(), key=lambda item: (not item[0][1],))
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if pairs.jsonl is stale")
    args = parser.parse_args(argv)
    try:
        records = build()
        holdout = build_holdout(records)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outputs = ((OUTPUT, records), (HOLDOUT_OUTPUT, holdout))
    if args.check:
        stale = 0
        for path, built in outputs:
            text = render(built)
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                diff = difflib.unified_diff(
                    current.splitlines(), text.splitlines(), "committed", "generated", lineterm=""
                )
                print("\n".join(list(diff)[:40]), file=sys.stderr)
                print(
                    f"{path.name} is stale: run `python scripts/make_eval_pairs.py`",
                    file=sys.stderr,
                )
                stale = 1
        return stale
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    for path, built in outputs:
        path.write_text(render(built), encoding="utf-8")
        print(f"{path.name}: {summary(built)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
