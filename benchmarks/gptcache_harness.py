"""GPTCache itself on labelled pairs: run by ``benchmarks.semantic_report`` with the Python
of a scratch environment where ``gptcache`` is installed (``scripts/semantic_report.sh``
builds it). Standalone on purpose: it imports nothing from this project.

Input (a JSON file, first argument): ``{"pairs": [[a, b], ...], "normalize": bool,
"similarity_threshold": float}``. For each pair a fresh GPTCache (sqlite + faiss, the
setup of GPTCache's README, in a temporary directory) stores ``a`` with ``put`` and asks
``b`` with ``get``: a hit is GPTCache answering ``b`` with ``a``'s answer. The embedding
function is WordLlama (the same model and configuration as the report's), through
GPTCache's ``embedding_func`` hook. For the curve, the same pair is also scored with
GPTCache's own search and ``SearchDistanceEvaluation`` (the score its ``get`` compares with
``similarity_threshold`` times the evaluation's range).

Output (stdout): ``{"versions": {...}, "hits": [bool, ...], "scores": [float, ...],
"rank_threshold": float}``.
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path


def main() -> None:
    import numpy as np
    import wordllama
    from gptcache import Cache, Config
    from gptcache.adapter.api import get, put
    from gptcache.manager import manager_factory
    from gptcache.processor.pre import get_prompt
    from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation

    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    model = wordllama.WordLlama.load(
        config="l2_supercat",
        dim=256,
        cache_dir=Path(wordllama.__file__).parent,
        disable_download=True,
    )
    normalize = bool(job["normalize"])

    def embed(text: str, **_: object) -> object:
        vector = np.asarray(model.embed([text])[0], dtype="float32")
        if normalize:
            vector = vector / np.linalg.norm(vector)
        return vector

    # GPTCache flushes every cache at exit: the directory must outlive them (atexit runs
    # last-registered first, so this removal, registered before any cache, runs last)
    root = tempfile.mkdtemp(prefix="gptcache-harness-")
    atexit.register(shutil.rmtree, root, True)
    hits, scores = [], []
    rank_threshold = None
    for number, (a, b) in enumerate(job["pairs"]):
        directory = str(Path(root) / str(number))
        Path(directory).mkdir()
        if True:
            cache = Cache()
            evaluation = SearchDistanceEvaluation()
            cache.init(
                pre_embedding_func=get_prompt,
                embedding_func=embed,
                data_manager=manager_factory(
                    "sqlite,faiss",
                    data_dir=directory,
                    scalar_params={"sql_url": "sqlite:///:memory:"},
                    vector_params={"dimension": 256},
                ),
                similarity_evaluation=evaluation,
                config=Config(similarity_threshold=job["similarity_threshold"]),
            )
            put(a, "answer of a", cache_obj=cache)
            hits.append(get(b, cache_obj=cache) == "answer of a")
            low, high = evaluation.range()
            rank_threshold = (high - low) * cache.config.similarity_threshold
            query = embed(b)
            found = cache.data_manager.search(query, top_k=1)
            score = 0.0
            if found:
                stored = cache.data_manager.get_scalar_data(found[0])
                score = evaluation.evaluation(
                    {"question": b, "embedding": query},
                    {
                        "question": stored.question,
                        "answer": stored.answers[0].answer,
                        "search_result": found[0],
                        "embedding": stored.embedding_data,
                    },
                )
            scores.append(float(score))
    versions = {name: metadata.version(name) for name in ("gptcache", "faiss-cpu", "wordllama")}
    print(
        json.dumps(
            {
                "versions": versions,
                "hits": hits,
                "scores": scores,
                "rank_threshold": rank_threshold,
            }
        )
    )


if __name__ == "__main__":
    main()
