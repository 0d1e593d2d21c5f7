"""Worker processes of the concurrency and fault tests (importable by spawned children).

Each worker records what was *acknowledged* (the call returned without an exception), so
the parent can check afterwards that every acknowledged write is readable.
"""

from __future__ import annotations

import random
import threading
import traceback
from typing import Any

from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import ElasticsearchCache, ElasticsearchEmbeddingsCache

SHARED_KEYS = 8  # keys every thread writes too: last writer wins, but some value must be there


def mixed_worker(es_url: str, index: str, process: int, threads: int, ops: int) -> dict[str, Any]:
    """``threads`` threads doing ``ops`` mixed operations each on ``index`` (the LLM
    cache) and ``index-emb`` (the byte store), reading their own writes back as they go."""
    llm_written: dict[str, str] = {}  # "prompt\x1fllm" -> answer
    vectors_written: dict[str, str] = {}  # key -> value (hex)
    shared_written: list[tuple[str, str]] = []
    errors: list[str] = []
    counts = {"lookup": 0, "update": 0, "mset": 0, "mget": 0, "stale_reads": 0}
    lock = threading.Lock()
    start = threading.Barrier(threads)

    with (
        ElasticsearchCache(index, es_url=es_url) as cache,
        ElasticsearchEmbeddingsCache(f"{index}-emb", es_url=es_url, namespace="ns") as store,
    ):

        def run(thread: int) -> None:
            rng = random.Random(process * 1000 + thread)
            mine_llm: dict[str, str] = {}
            mine_vec: dict[str, bytes] = {}
            start.wait()
            for op in range(ops):
                choice = rng.random()
                try:
                    if choice < 0.35:
                        prompt = f"p{process}-{thread}-{op % 50}"
                        answer = f"a{process}-{thread}-{op}"
                        cache.update(prompt, "llm", [Generation(text=answer)])
                        mine_llm[prompt] = answer
                        with lock:
                            llm_written[f"{prompt}\x1fllm"] = answer
                            counts["update"] += 1
                    elif choice < 0.6:
                        if mine_llm:
                            prompt = rng.choice(list(mine_llm))
                            got = cache.lookup(prompt, "llm")
                            if got != [Generation(text=mine_llm[prompt])]:
                                with lock:
                                    counts["stale_reads"] += 1
                        else:
                            cache.lookup(f"absent-{process}-{thread}-{op}", "llm")
                        with lock:
                            counts["lookup"] += 1
                    elif choice < 0.8:
                        batch = {
                            f"k{process}-{thread}-{rng.randrange(100)}": rng.randbytes(16)
                            for _ in range(5)
                        }
                        if op % 20 == 0:
                            shared = f"shared-{rng.randrange(SHARED_KEYS)}"
                            batch[shared] = f"{process}-{thread}-{op}".encode()
                        store.mset(list(batch.items()))
                        mine_vec.update(batch)
                        with lock:
                            counts["mset"] += 1
                            for key, value in batch.items():
                                if key.startswith("shared-"):
                                    shared_written.append((key, value.hex()))
                                else:
                                    vectors_written[key] = value.hex()
                    else:
                        keys = rng.sample(list(mine_vec), min(len(mine_vec), 8)) or ["none"]
                        values = store.mget(keys)
                        own = [k for k in keys if not k.startswith("shared-") and k in mine_vec]
                        stale = sum(
                            1
                            for key, value in zip(keys, values, strict=True)
                            if key in own and value != mine_vec[key]
                        )
                        with lock:
                            counts["mget"] += 1
                            counts["stale_reads"] += stale
                except Exception:
                    with lock:
                        errors.append(traceback.format_exc(limit=3))

        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return {
        "llm": llm_written,
        "vectors": vectors_written,
        "shared": shared_written,
        "errors": errors,
        "counts": counts,
    }
