"""Streaming through the cache: ``.venv/bin/python -m benchmarks.streaming [--quick]``.

What ``CachedChatModel`` costs a streamed answer, and what a hit saves. A fake streaming
chat model sends ``chunks`` chunks, each after ``delay`` seconds (so its time to first
chunk is one delay and its total is ``chunks * delay``). For each repetition, with a
fresh prompt:

* **bare miss**: ``model.stream(prompt)`` (langchain-core: no cache on this path);
* **wrapped miss**: ``CachedChatModel(model, cache).stream(prompt)``: lookup, the model's
  chunks passed through, the aggregate written at the end;
* **wrapped hit**: the same prompt again: the cached message replayed as one chunk.

Reported: medians of time to first chunk and total time, and the ratios wrapped/bare on
a miss (target: first chunk ~1.0, i.e. nothing buffered) and hit/bare-miss total (the
saving). The cache is the in-memory ``InMemoryLlmCache``, so the figures isolate the
wrapper (on Elasticsearch a miss's first chunk also waits for one GET round trip, which
``benchmarks/run.py`` measures as ``llm_lookup_hit``). Counts (model calls, chunks) are
exact and checked by the smoke test; times are not asserted anywhere.

Results: ``benchmarks/results/streaming[-quick].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from langchain_elasticsearch_cache import CachedChatModel, InMemoryLlmCache

from .environment import load_average

__all__ = ["StreamingPlan", "main", "run"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class StreamingPlan:
    mode: str
    repetitions: int
    chunks: int
    delay_s: float

    @classmethod
    def full(cls) -> StreamingPlan:
        return cls(mode="full", repetitions=30, chunks=20, delay_s=0.02)

    @classmethod
    def quick(cls) -> StreamingPlan:
        return cls(mode="quick", repetitions=3, chunks=5, delay_s=0.002)


class SlowStreamingModel(BaseChatModel):
    """Streams ``chunks`` words, one every ``delay_s`` seconds; counts its calls."""

    chunks: int = 20
    delay_s: float = 0.02
    calls: list[int] = Field(default_factory=list)  # shared with CachedChatModel's copies

    @property
    def _llm_type(self) -> str:
        return "slow-streaming-fake"

    def _pieces(self) -> Iterator[AIMessageChunk]:
        self.calls.append(1)
        for index in range(self.chunks):
            time.sleep(self.delay_s)
            yield AIMessageChunk(content=f"word{index} ")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(str(chunk.content) for chunk in self._pieces())
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._pieces():
            yield ChatGenerationChunk(message=chunk)


def _timed_stream(stream: Callable[[], Iterator[Any]]) -> tuple[float, float, int, str]:
    """(time to first chunk, total time, chunks, text) of one consumed stream."""
    start = time.perf_counter()
    first = 0.0
    count = 0
    text = ""
    for chunk in stream():
        if count == 0:
            first = time.perf_counter() - start
        count += 1
        text += str(chunk.content)
    return first, time.perf_counter() - start, count, text


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(values),
        "min_s": min(values),
        "max_s": max(values),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(
    plan: StreamingPlan, *, name: str | None = None, out_dir: Path = RESULTS_DIR
) -> dict[str, Any]:
    """Run the benchmark, write ``<name>.json`` into ``out_dir`` and return the document."""
    model = SlowStreamingModel(chunks=plan.chunks, delay_s=plan.delay_s, calls=[])
    wrapped = CachedChatModel(model, InMemoryLlmCache())
    samples: dict[str, dict[str, list[float]]] = {
        case: {"first_chunk": [], "total": []}
        for case in ("bare_miss", "wrapped_miss", "wrapped_hit")
    }
    chunk_counts: dict[str, list[int]] = {case: [] for case in samples}
    calls_before_hits = 0
    same_text = True
    started = load_average()
    for repetition in range(plan.repetitions):
        prompt = f"question {repetition} at {time.time_ns()}"
        cases = {
            "bare_miss": partial(model.stream, prompt),
            "wrapped_miss": partial(wrapped.stream, prompt),
        }
        texts = {}
        order = list(cases.items())
        for case, stream in order if repetition % 2 == 0 else order[::-1]:  # no order bias
            first, total, count, texts[case] = _timed_stream(stream)
            samples[case]["first_chunk"].append(first)
            samples[case]["total"].append(total)
            chunk_counts[case].append(count)
        calls_before_hits = len(model.calls)
        first, total, count, hit_text = _timed_stream(partial(wrapped.stream, prompt))
        samples["wrapped_hit"]["first_chunk"].append(first)
        samples["wrapped_hit"]["total"].append(total)
        chunk_counts["wrapped_hit"].append(count)
        same_text = same_text and texts["bare_miss"] == texts["wrapped_miss"] == hit_text
        if len(model.calls) != calls_before_hits:
            raise AssertionError("a hit called the model")

    medians = {
        case: {kind: _summary(values) for kind, values in kinds.items()}
        for case, kinds in samples.items()
    }

    def ratio(case: str, kind: str, reference: str, reference_kind: str) -> float:
        return medians[case][kind]["median_s"] / medians[reference][reference_kind]["median_s"]

    document: dict[str, Any] = {
        "benchmark": "streaming",
        "plan": asdict(plan),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cases": medians,
        "ratios": {
            "miss_first_chunk_wrapped_vs_bare": ratio(
                "wrapped_miss", "first_chunk", "bare_miss", "first_chunk"
            ),
            "miss_total_wrapped_vs_bare": ratio("wrapped_miss", "total", "bare_miss", "total"),
            "hit_total_vs_bare_miss_total": ratio("wrapped_hit", "total", "bare_miss", "total"),
        },
        "counts": {
            "model_calls": len(model.calls),
            "expected_model_calls": 2 * plan.repetitions,
            "chunks_per_stream": {
                case: sorted(set(counts)) for case, counts in chunk_counts.items()
            },
            "same_text_everywhere": same_text,
        },
        "environment": {
            "cores": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "python": platform.python_version(),
            "langchain_core": _version("langchain-core"),
            "load_average_at_start": started,
            "load_average_at_end": load_average(),
        },
    }
    name = name or ("streaming" if plan.mode == "full" else f"streaming-{plan.mode}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--name", default=None)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    plan = StreamingPlan.quick() if arguments.quick else StreamingPlan.full()
    document = run(plan, name=arguments.name, out_dir=arguments.out_dir)
    print(json.dumps(document["ratios"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
