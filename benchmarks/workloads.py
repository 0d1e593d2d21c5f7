"""The workloads, each timing this library ("ours"), the seed and the raw client.

What "raw" means: the Elasticsearch request(s) alone, through the same elasticsearch-py
client, with ids and request bodies computed beforehand and nothing done with the
response beyond what the client does (parse the JSON). It is the floor a cache library
cannot go below. Workload 5 is the exception the issue asks for: there raw also decodes
the vectors (base64 + JSON), since that is what ``embed_documents`` returns.

Every contender reads the same documents: they are stored under the seed's keys and
this library runs with ``key_scheme="legacy"`` (one MD5 instead of one SHA-256 per key:
a difference of well under a microsecond). Writes go to one index per contender, so
the seed's forced refreshes do not flush the other contenders' writes.
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import io
import json
import pstats
import time
import timeit
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch, helpers
from langchain_core.embeddings import Embeddings

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import EMBEDDING_RECORDS, LLM_RECORDS

from . import data
from .harness import Contender, Outcome, arun_interleaved, run_interleaved

__all__ = ["WORKLOADS", "Bench", "Plan", "WorkloadResult"]


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of every workload."""

    mode: str
    lookup_entries: int = 10_000
    lookup_rounds: int = 1_500
    lookup_per_round: int = 1
    lookup_warmup: int = 50  # rounds run and discarded first
    update_batch: int = 50
    update_rounds: int = 10
    async_lookups: int = 1_000
    async_rounds: int = 5
    vector_count: int = 1_000
    vector_dims: int = 1536
    vector_rounds: int = 8
    embed_texts: int = 10_000
    embed_dims: int = 384
    embed_rounds: int = 5
    scale_sizes: tuple[int, ...] = (1_000, 100_000)
    scale_rounds: int = 600
    scale_per_round: int = 1
    clear_entries: int = 100_000
    clear_rounds: int = 3
    workloads: tuple[str, ...] = ()

    @classmethod
    def full(cls) -> Plan:
        return cls(mode="full")

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            mode="quick",
            lookup_entries=200,
            lookup_rounds=30,
            lookup_per_round=1,
            lookup_warmup=3,
            update_batch=5,
            update_rounds=2,
            async_lookups=50,
            async_rounds=2,
            vector_count=50,
            vector_rounds=2,
            embed_texts=200,
            embed_rounds=2,
            scale_sizes=(100, 1_000),
            scale_rounds=10,
            scale_per_round=1,
            clear_entries=500,
            clear_rounds=1,
        )

    @classmethod
    def scale_1m(cls) -> Plan:
        return cls(mode="scale-1m", scale_sizes=(1_000, 1_000_000), workloads=("scale",))

    def with_workloads(self, names: Iterable[str]) -> Plan:
        return replace(self, workloads=tuple(names))


@dataclass
class WorkloadResult:
    """What one workload measured, ready for the report."""

    id: str
    title: str
    unit: str
    contenders: dict[str, str]
    params: dict[str, Any]
    outcomes: list[Outcome]
    setup: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    profile: Callable[[], None] | None = None


class Bench:
    """The node, a shared client, and the indices a run creates (all removed at the end)."""

    def __init__(self, url: str, plan: Plan) -> None:
        self.url = url
        self.plan = plan
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.client = Elasticsearch(url, request_timeout=600)
        self._lookup_index: tuple[str, float] | None = None

    def index(self, label: str) -> str:
        return f"{self.prefix}-{label}"

    def close(self) -> None:
        try:
            self.client.indices.delete(
                index=f"{self.prefix}-*", ignore_unavailable=True, allow_no_indices=True
            )
        finally:
            self.client.close()

    def async_client(self) -> AsyncElasticsearch:
        return AsyncElasticsearch(self.url, request_timeout=600)

    def drop(self, index: str) -> None:
        self.client.indices.delete(index=index, ignore_unavailable=True)

    def create(self, index: str, mappings: dict[str, Any]) -> None:
        self.drop(index)
        self.client.indices.create(
            index=index, mappings=mappings, settings={"refresh_interval": "-1"}
        )

    def finish_load(self, index: str) -> None:
        self.client.indices.put_settings(index=index, settings={"refresh_interval": None})
        self.client.indices.refresh(index=index)

    def load_llm(self, index: str, count: int) -> float:
        """Create ``index`` holding entries 0 .. count-1; returns the seconds it took."""
        started = time.perf_counter()
        self.create(index, LLM_RECORDS.mappings)
        for ok, item in helpers.parallel_bulk(
            self.client,
            data.llm_actions(index, count),
            thread_count=2,
            chunk_size=2_000,
            raise_on_error=True,
        ):
            if not ok:  # pragma: no cover - raise_on_error raises first
                raise RuntimeError(f"bulk load failed: {item}")
        self.finish_load(index)
        return time.perf_counter() - started

    def lookup_index(self) -> tuple[str, float]:
        """The index of workloads 1 and 3 (``lookup_entries`` entries), loaded once."""
        if self._lookup_index is None:
            index = self.index("llm-lookup")
            self._lookup_index = (index, self.load_llm(index, self.plan.lookup_entries))
        return self._lookup_index

    def count(self, index: str) -> int:
        self.client.indices.refresh(index=index)
        return int(self.client.count(index=index)["count"])


def _seed() -> Any:
    """The seed's module, imported quietly (it warns about its own deprecations)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import langchain_elasticsearch

    return langchain_elasticsearch


def _spread(count: int) -> Callable[[int], int]:
    """Sample number -> entry number, stepping through the entries in a scattered order."""
    step = 7_919 if count % 7_919 else 7_907
    return lambda sample: (sample * step) % count


def _profile(call: Callable[[], Any], repeat: int) -> Callable[[], str]:
    """cProfile ``call``: where its time goes, per call, outside and inside the client."""

    def run() -> str:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            call()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        total = stats.total_tt  # type: ignore[attr-defined]
        # every API call of elasticsearch-py goes through one decorator, ``wrapped``
        client = sum(
            entry[3]
            for (filename, _, name), entry in table.items()
            if name == "wrapped" and filename.endswith("client/utils.py")
        )
        per_call = 1e6 / repeat
        out.write(
            f"per call ({repeat} calls, profiler overhead included): {total * per_call:,.0f} us; "
            f"inside elasticsearch-py calls (request, round trip, JSON): "
            f"{client * per_call:,.0f} us; everything else (this library, LangChain, "
            f"pydantic, codecs): {(total - client) * per_call:,.0f} us\n\n"
            "By own time, functions of this library, LangChain, pydantic, the codecs, json "
            "and the bulk helpers (wherever called):\n"
        )
        stats.sort_stats("tottime").print_stats(
            r"langchain_elasticsearch_cache|langchain_core|langchain_classic|pydantic|"
            r"attrs|json|base64|binascii|hashlib|datetime|contextlib|helpers",
            20,
        )
        return out.getvalue()

    return run


def _hit(value: Any) -> None:
    if value is None:
        raise AssertionError("expected a cache hit, got a miss")


# -- 1. LLM lookup hit ---------------------------------------------------------------


def llm_lookup_hit(bench: Bench) -> WorkloadResult:
    plan = bench.plan
    index, load_seconds = bench.lookup_index()
    return _lookup_workload(
        bench,
        index,
        plan.lookup_entries,
        workload_id="llm_lookup_hit",
        title=f"LLM cache lookup hit (sync), one call, {plan.lookup_entries:,} entries",
        rounds=plan.lookup_rounds,
        per_round=plan.lookup_per_round,
        setup={"load_seconds": round(load_seconds, 2), "entries": plan.lookup_entries},
    )


_LOOKUP_CONTENDERS = {
    "ours": "ElasticsearchCache.lookup (realtime GET, decode with allowlist)",
    "seed": "langchain_elasticsearch.ElasticsearchCache.lookup",
    "raw": "client.get(index, id)",
}


def _lookup_contenders(
    bench: Bench, index: str, entries: int, samples: int, tag: str = ""
) -> tuple[list[Contender], Callable[[], str]]:
    """Lookup-hit contenders on ``index`` (names suffixed with ``tag``), and a profile."""
    client = bench.client
    seed_module = _seed()
    ours = ElasticsearchCache(index, client=client, key_scheme="legacy")
    seed = seed_module.ElasticsearchCache(index, client=client)
    pick = _spread(entries)
    prompts = [data.prompt(pick(i)) for i in range(samples)]
    keys = [data.legacy_llm_key(pick(i)) for i in range(samples)]
    llm_string = data.LLM_STRING

    def run_ours(i: int) -> None:
        _hit(ours.lookup(prompts[i], llm_string))

    def run_seed(i: int) -> None:
        _hit(seed.lookup(prompts[i], llm_string))

    def run_raw(i: int) -> None:
        client.get(index=index, id=keys[i])

    contenders = [
        Contender(f"ours{tag}", run_ours),
        Contender(f"seed{tag}", run_seed),
        Contender(f"raw{tag}", run_raw),
    ]
    return contenders, _lookup_profile(bench, index, prompts[0], keys[0], lambda: run_ours(0))


def _lookup_workload(
    bench: Bench,
    index: str,
    entries: int,
    *,
    workload_id: str,
    title: str,
    rounds: int,
    per_round: int,
    setup: dict[str, Any],
) -> WorkloadResult:
    warmup = bench.plan.lookup_warmup
    samples = (warmup + rounds) * per_round  # the warm-up rounds, then the measured ones
    contenders, profile = _lookup_contenders(bench, index, entries, samples)
    outcomes = run_interleaved(contenders, rounds=rounds, per_round=per_round, warmup=warmup)
    return WorkloadResult(
        id=workload_id,
        title=title,
        unit="latency per call",
        contenders=dict(_LOOKUP_CONTENDERS),
        params={
            "entries": entries,
            "rounds": rounds,
            "per_round": per_round,
            "warmup_rounds": warmup,
        },
        outcomes=outcomes,
        setup=setup,
        profile=profile,
    )


def _lookup_profile(
    bench: Bench, index: str, prompt: str, key: str, call: Callable[[], None]
) -> Callable[[], str]:
    """The profile of one lookup, plus its CPU cost with the network taken out."""
    profiled = _profile(call, 500)

    def run() -> str:
        return profiled() + _lookup_overhead(bench, index, prompt, key)

    return run


def _lookup_overhead(bench: Bench, index: str, prompt: str, key: str) -> str:
    """Python time per lookup when the client answers from memory (no HTTP, no JSON).

    A client whose ``get`` returns a response fetched once: what remains is what each
    library does around the request (keys, checks, decoding, statistics), without the
    noise of the network and of the node sharing the cores.
    """
    canned = bench.client.get(index=index, id=key)
    client = Elasticsearch(bench.url)
    try:
        ours = ElasticsearchCache(index, client=client, key_scheme="legacy")
        seed = _seed().ElasticsearchCache(index, client=client)
        ours.lookup(prompt, data.LLM_STRING)  # bootstrap (index checks) with the real client
        seed.lookup(prompt, data.LLM_STRING)
        client.get = lambda **_: canned  # type: ignore[method-assign]
        timings = {}
        for name, call in (
            ("ours", lambda: ours.lookup(prompt, data.LLM_STRING)),
            ("seed", lambda: seed.lookup(prompt, data.LLM_STRING)),
            ("raw", lambda: client.get(index=index, id=key)),
        ):
            best = min(timeit.repeat(call, number=2_000, repeat=5)) / 2_000
            timings[name] = best
    finally:
        client.close()
    shown = ", ".join(f"{name} {seconds * 1e6:.1f} us" for name, seconds in timings.items())
    return (
        "\nCPU time per lookup with the network taken out (client.get answers a canned "
        f"response; best of 5 x 2,000): {shown}\n"
    )


# -- 2. LLM update throughput --------------------------------------------------------


def llm_update(bench: Bench) -> WorkloadResult:
    plan = bench.plan
    client = bench.client
    seed_module = _seed()
    batch = plan.update_batch
    names = ("ours", "seed", "raw", "ours_translog_async")
    indices = {name: bench.index(f"llm-update-{name}") for name in names}
    ours = ElasticsearchCache(indices["ours"], client=client, key_scheme="legacy")
    seed = seed_module.ElasticsearchCache(indices["seed"], client=client)
    # the same library writing into an index its owner created with asynchronous translog
    # durability (fsync every 5 s instead of per request): a cache can afford it
    client.indices.create(
        index=indices["ours_translog_async"],
        mappings=LLM_RECORDS.mappings,
        settings={"index": {"translog": {"durability": "async"}}},
    )
    ours_async_translog = ElasticsearchCache(
        indices["ours_translog_async"], client=client, key_scheme="legacy"
    )
    total = (plan.update_rounds + 1) * batch
    prompts = [data.prompt(i) for i in range(total)]
    answers = [data.generations(i) for i in range(total)]
    keys = [data.legacy_llm_key(i) for i in range(total)]
    stamp = "2025-01-01T00:00:00+00:00"
    documents = [data.llm_document(i, stamp) for i in range(total)]
    client.indices.create(index=indices["raw"], mappings=LLM_RECORDS.mappings)
    llm_string = data.LLM_STRING

    def run_ours(sample: int) -> None:
        for i in range(sample * batch, (sample + 1) * batch):
            ours.update(prompts[i], llm_string, answers[i])

    def run_seed(sample: int) -> None:
        for i in range(sample * batch, (sample + 1) * batch):
            seed.update(prompts[i], llm_string, answers[i])

    def run_raw(sample: int) -> None:
        for i in range(sample * batch, (sample + 1) * batch):
            client.index(index=indices["raw"], id=keys[i], document=documents[i])

    def run_translog_async(sample: int) -> None:
        for i in range(sample * batch, (sample + 1) * batch):
            ours_async_translog.update(prompts[i], llm_string, answers[i])

    outcomes = run_interleaved(
        [
            Contender("ours", run_ours, ops=batch),
            Contender("seed", run_seed, ops=batch),
            Contender("raw", run_raw, ops=batch),
            Contender("ours_translog_async", run_translog_async, ops=batch),
        ],
        rounds=plan.update_rounds,
    )
    return WorkloadResult(
        id="llm_update",
        title=f"LLM cache update (sync), throughput, batches of {batch} updates",
        unit=f"time per batch of {batch}",
        contenders={
            "ours": "ElasticsearchCache.update (no forced refresh)",
            "seed": "langchain_elasticsearch.ElasticsearchCache.update (refresh=True per write)",
            "raw": "client.index(index, id, document) with a prebuilt document",
            "ours_translog_async": "reference: ours, index created with "
            "index.translog.durability=async",
        },
        params={"batch": batch, "rounds": plan.update_rounds},
        outcomes=outcomes,
        profile=_profile(lambda: ours.update(prompts[0], llm_string, answers[0]), 300),
    )


# -- 3. async lookups ----------------------------------------------------------------


def async_lookups(bench: Bench) -> WorkloadResult:
    plan = bench.plan
    index, _ = bench.lookup_index()
    entries = plan.lookup_entries
    count = plan.async_lookups
    rounds = plan.async_rounds
    pick = _spread(entries)
    groups = [[pick(s * count + j) for j in range(count)] for s in range(rounds + 1)]
    prompts = [[data.prompt(i) for i in group] for group in groups]
    keys = [[data.legacy_llm_key(i) for i in group] for group in groups]
    llm_string = data.LLM_STRING
    seed_module = _seed()
    sync_ours = ElasticsearchCache(index, client=bench.client, key_scheme="legacy")

    async def measure() -> list[Outcome]:
        client = bench.async_client()
        try:
            ours = AsyncElasticsearchCache(index, client=client, key_scheme="legacy")
            seed = seed_module.AsyncElasticsearchCache(index, client=client)

            async def run_ours(s: int) -> None:
                found = await asyncio.gather(*(ours.alookup(p, llm_string) for p in prompts[s]))
                for value in found:
                    _hit(value)

            async def run_seed(s: int) -> None:
                found = await asyncio.gather(*(seed.alookup(p, llm_string) for p in prompts[s]))
                for value in found:
                    _hit(value)

            async def run_raw(s: int) -> None:
                await asyncio.gather(*(client.get(index=index, id=key) for key in keys[s]))

            def run_sequential(s: int) -> None:
                for p in prompts[s]:
                    _hit(sync_ours.lookup(p, llm_string))

            return await arun_interleaved(
                [
                    Contender("ours", run_ours, ops=count),
                    Contender("seed", run_seed, ops=count),
                    Contender("raw", run_raw, ops=count),
                    Contender("ours_sync_sequential", run_sequential, ops=count),
                ],
                rounds=rounds,
            )
        finally:
            await client.close()

    outcomes = asyncio.run(measure())
    return WorkloadResult(
        id="async_lookups",
        title=f"{count:,} concurrent alookup (asyncio.gather), wall time",
        unit=f"wall time for {count:,} lookups",
        contenders={
            "ours": "AsyncElasticsearchCache.alookup x N, gathered",
            "seed": "langchain_elasticsearch.AsyncElasticsearchCache.alookup x N, gathered",
            "raw": "AsyncElasticsearch.get x N, gathered",
            "ours_sync_sequential": "reference: ElasticsearchCache.lookup x N, one after another",
        },
        params={
            "lookups": count,
            "rounds": rounds,
            "entries": entries,
            "connections_per_node": 10,
        },
        outcomes=outcomes,
    )


# -- 4. embeddings mget / mset -------------------------------------------------------


def embeddings_mget(bench: Bench) -> WorkloadResult:
    plan = bench.plan
    client = bench.client
    seed_module = _seed()
    count, dims = plan.vector_count, plan.vector_dims
    index = bench.index("emb-mget")
    keys = [f"document chunk {i}" for i in range(count)]
    ids = [data.legacy_embedding_id(key) for key in keys]
    started = time.perf_counter()
    bench.create(index, EMBEDDING_RECORDS.mappings)
    loader = ElasticsearchEmbeddingsCache(index, client=client, key_scheme="legacy")
    loader.mset([(key, data.float32_vector(i, dims)) for i, key in enumerate(keys)])
    bench.finish_load(index)
    load_seconds = time.perf_counter() - started
    ours = ElasticsearchEmbeddingsCache(index, client=client, key_scheme="legacy")
    seed = seed_module.ElasticsearchEmbeddingsCache(index, client=client)

    def all_found(values: list[Any]) -> None:
        if len(values) != count or any(value is None for value in values):
            raise AssertionError("expected every key to be found")

    def run_ours(_: int) -> None:
        all_found(ours.mget(keys))

    def run_seed(_: int) -> None:
        all_found(seed.mget(keys))

    def run_raw(_: int) -> None:
        client.mget(index=index, ids=ids)

    def run_raw_decoded(_: int) -> None:
        docs = client.mget(index=index, ids=ids)["docs"]
        all_found([base64.b64decode(doc["_source"]["vector_dump"]) for doc in docs])

    outcomes = run_interleaved(
        [
            Contender("ours", run_ours, ops=count),
            Contender("seed", run_seed, ops=count),
            Contender("raw", run_raw, ops=count),
            Contender("raw_decoded", run_raw_decoded, ops=count),
        ],
        rounds=plan.vector_rounds,
    )
    return WorkloadResult(
        id="embeddings_mget",
        title=f"Embeddings mget of {count:,} keys ({dims} float32 each)",
        unit=f"time per mget of {count:,}",
        contenders={
            "ours": "ElasticsearchEmbeddingsCache.mget",
            "seed": "langchain_elasticsearch.ElasticsearchEmbeddingsCache.mget",
            "raw": "client.mget(index, ids) (one request)",
            "raw_decoded": "reference: raw, plus the base64 decoding any ByteStore must do",
        },
        params={"keys": count, "dims": dims, "rounds": plan.vector_rounds},
        outcomes=outcomes,
        setup={"load_seconds": round(load_seconds, 2)},
        profile=_profile(lambda: run_ours(0), 5),
    )


def embeddings_mset(bench: Bench) -> WorkloadResult:
    plan = bench.plan
    client = bench.client
    seed_module = _seed()
    count, dims = plan.vector_count, plan.vector_dims
    indices = {name: bench.index(f"emb-mset-{name}") for name in ("ours", "seed", "raw")}
    pairs = [(f"document chunk {i}", data.float32_vector(i, dims)) for i in range(count)]
    ours = ElasticsearchEmbeddingsCache(indices["ours"], client=client, key_scheme="legacy")
    seed = seed_module.ElasticsearchEmbeddingsCache(indices["seed"], client=client)
    stamp = "2025-01-01T00:00:00+00:00"
    actions = [
        {
            "_op_type": "index",
            "_index": indices["raw"],
            "_id": data.legacy_embedding_id(key),
            "_source": {
                "vector_dump": base64.b64encode(vector).decode("ascii"),
                "timestamp": stamp,
                "text_input": key,
            },
        }
        for key, vector in pairs
    ]
    client.indices.create(index=indices["raw"], mappings=EMBEDDING_RECORDS.mappings)

    def run_raw(_: int) -> None:
        helpers.bulk(client, actions)

    outcomes = run_interleaved(
        [
            Contender("ours", lambda _: ours.mset(pairs), ops=count),
            Contender("seed", lambda _: seed.mset(pairs), ops=count),
            Contender("raw", run_raw, ops=count),
        ],
        rounds=plan.vector_rounds,
    )
    return WorkloadResult(
        id="embeddings_mset",
        title=f"Embeddings mset of {count:,} vectors ({dims} float32 each)",
        unit=f"time per mset of {count:,}",
        contenders={
            "ours": "ElasticsearchEmbeddingsCache.mset (bulk, no forced refresh)",
            "seed": "langchain_elasticsearch.ElasticsearchEmbeddingsCache.mset (refresh=True)",
            "raw": "helpers.bulk of prebuilt actions (chunks of 500)",
        },
        params={"vectors": count, "dims": dims, "rounds": plan.vector_rounds},
        outcomes=outcomes,
        profile=_profile(lambda: ours.mset(pairs), 3),
    )


# -- 5. CacheBackedEmbeddings end to end ---------------------------------------------


class _CountingEmbeddings(Embeddings):
    """A deterministic embedder that counts its calls (a warm cache makes none)."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [data.json_vector(hash(text) & 0xFFFF, self.dims) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def cache_backed_embeddings(bench: Bench) -> WorkloadResult:
    from langchain_classic.embeddings import CacheBackedEmbeddings

    plan = bench.plan
    client = bench.client
    seed_module = _seed()
    count, dims = plan.embed_texts, plan.embed_dims
    index = bench.index("emb-cbe")
    texts = [f"passage {i}: {data.prompt(i)}" for i in range(count)]
    underlying = _CountingEmbeddings(dims)

    def backed(store: Any) -> Any:
        return CacheBackedEmbeddings.from_bytes_store(
            underlying, store, namespace=data.NAMESPACE, key_encoder="sha256"
        )

    ours = backed(ElasticsearchEmbeddingsCache(index, client=client, key_scheme="legacy"))
    seed = backed(seed_module.ElasticsearchEmbeddingsCache(index, client=client))
    started = time.perf_counter()
    bench.create(index, EMBEDDING_RECORDS.mappings)
    ours.embed_documents(texts)  # warm the cache: every text embedded and stored once
    bench.finish_load(index)
    warm_seconds = time.perf_counter() - started
    encode = ours.document_embedding_store.key_encoder
    ids = [data.legacy_embedding_id(encode(text)) for text in texts]
    calls_before = underlying.calls

    def complete(vectors: list[Any]) -> None:
        if len(vectors) != count or underlying.calls != calls_before:
            raise AssertionError("the warm cache should answer every text")

    def run_raw(_: int) -> None:
        docs = client.mget(index=index, ids=ids)["docs"]
        vectors = [json.loads(base64.b64decode(doc["_source"]["vector_dump"])) for doc in docs]
        complete(vectors)

    outcomes = run_interleaved(
        [
            Contender("ours", lambda _: complete(ours.embed_documents(texts)), ops=count),
            Contender("seed", lambda _: complete(seed.embed_documents(texts)), ops=count),
            Contender("raw", run_raw, ops=count),
        ],
        rounds=plan.embed_rounds,
    )
    return WorkloadResult(
        id="cache_backed_embeddings",
        title=f"CacheBackedEmbeddings.embed_documents, {count:,} texts, warm cache",
        unit=f"time per embed_documents of {count:,}",
        contenders={
            "ours": "CacheBackedEmbeddings over ElasticsearchEmbeddingsCache",
            "seed": "CacheBackedEmbeddings over langchain_elasticsearch's store",
            "raw": "client.mget(ids) in one request + base64 and JSON decode",
        },
        params={"texts": count, "dims": dims, "rounds": plan.embed_rounds},
        outcomes=outcomes,
        setup={"warm_seconds": round(warm_seconds, 2)},
        notes=[
            f"vectors are {dims} floats serialised by CacheBackedEmbeddings as JSON "
            "(its default), about 8 bytes per float before base64"
        ],
        profile=_profile(lambda: ours.embed_documents(texts), 2),
    )


# -- 6. scale -------------------------------------------------------------------------


def scale(bench: Bench) -> Iterator[WorkloadResult]:
    """Lookup hits on indices of every size, all loaded first and timed interleaved (so
    the node's warm-up and the machine's load hit every size alike)."""
    plan = bench.plan
    rounds, per_round, warmup = plan.scale_rounds, plan.scale_per_round, plan.lookup_warmup
    loaded: list[tuple[int, str, float]] = []
    try:
        for size in plan.scale_sizes:
            index = bench.index(f"llm-scale-{size}")
            loaded.append((size, index, bench.load_llm(index, size)))
        contenders: list[Contender] = []
        profiles: dict[int, Callable[[], str]] = {}
        for size, index, _ in loaded:
            mine, profiles[size] = _lookup_contenders(
                bench, index, size, (warmup + rounds) * per_round, tag=f"@{size}"
            )
            contenders += mine
        outcomes = run_interleaved(contenders, rounds=rounds, per_round=per_round, warmup=warmup)
        for size, _, load_seconds in loaded:
            tag = f"@{size}"
            yield WorkloadResult(
                id=f"scale_lookup_{size}",
                title=f"Scale: LLM lookup hit latency, {size:,} entries",
                unit="latency per call",
                contenders=dict(_LOOKUP_CONTENDERS),
                params={
                    "entries": size,
                    "rounds": rounds,
                    "per_round": per_round,
                    "warmup_rounds": warmup,
                    "interleaved_with_sizes": list(plan.scale_sizes),
                },
                outcomes=[
                    replace(outcome, name=outcome.name.removesuffix(tag))
                    for outcome in outcomes
                    if outcome.name.endswith(tag)
                ],
                setup={"load_seconds": round(load_seconds, 2), "entries": size},
                profile=profiles[size],
            )
    finally:
        for _, index, _ in loaded:
            bench.drop(index)


# -- 7. clear -------------------------------------------------------------------------


def clear(bench: Bench) -> WorkloadResult:
    plan = bench.plan
    client = bench.client
    seed_module = _seed()
    count = plan.clear_entries
    load_seconds: list[float] = []
    raw_mode: list[str] = []

    def prepare_for(name: str) -> Callable[[int], None]:
        def prepare(sample: int) -> None:
            index = bench.index(f"clear-{name}")
            if client.indices.exists(index=index) and bench.count(index):
                raise AssertionError(f"{name}: clear left documents behind")
            load_seconds.append(bench.load_llm(index, count))

        return prepare

    def run_ours(_: int) -> None:
        ElasticsearchCache(bench.index("clear-ours"), client=client, key_scheme="legacy").clear()

    def run_seed(_: int) -> None:
        seed_module.ElasticsearchCache(bench.index("clear-seed"), client=client).clear()

    def run_raw(_: int) -> None:
        index = bench.index("clear-raw")
        try:
            client.delete_by_query(
                index=index, query={"match_all": {}}, refresh=True, conflicts="proceed"
            )
            raw_mode.append("delete_by_query")
        except ApiError as exc:
            if "no handler" not in str(exc).lower():
                raise
            # what a user of the bare client writes on a cluster without the endpoint
            helpers.bulk(
                client,
                (
                    {"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]}
                    for hit in helpers.scan(client, index=index, _source=False, size=1_000)
                ),
            )
            client.indices.refresh(index=index)
            raw_mode.append("scan+bulk")

    outcomes = run_interleaved(
        [
            Contender("ours", run_ours, prepare=prepare_for("ours"), ops=count),
            Contender("seed", run_seed, prepare=prepare_for("seed"), ops=count),
            Contender("raw", run_raw, prepare=prepare_for("raw"), ops=count),
        ],
        rounds=plan.clear_rounds,
        warmup=0,
    )
    for name in ("ours", "seed", "raw"):
        index = bench.index(f"clear-{name}")
        outcome = next(o for o in outcomes if o.name == name)
        if outcome.error is None and bench.count(index):
            outcome.error = "AssertionError: clear left documents behind"
        bench.drop(index)
    notes = []
    seed_outcome = next(o for o in outcomes if o.name == "seed")
    if seed_outcome.error is not None:
        notes.append(
            "the seed's clear() fails here: it calls _delete_by_query, which this node "
            "(integ-test distribution, no reindex module) does not have"
        )
    if raw_mode and raw_mode[-1] == "scan+bulk":
        notes.append(
            "raw: _delete_by_query is missing here, so raw is the bare-client equivalent "
            "(helpers.scan of the ids + helpers.bulk deletes + refresh)"
        )
        notes.append(
            "full node: not available on this machine; run with ES_URL pointing at a "
            "full Elasticsearch node to time the seed's and raw _delete_by_query there"
        )
    return WorkloadResult(
        id="clear",
        title=f"clear() of {count:,} entries",
        unit=f"time to clear {count:,} entries",
        contenders={
            "ours": "ElasticsearchCache.clear (delete_by_query, else PIT + bulk delete)",
            "seed": "langchain_elasticsearch.ElasticsearchCache.clear (delete_by_query only)",
            "raw": "client.delete_by_query, else helpers.scan + helpers.bulk",
        },
        params={"entries": count, "rounds": plan.clear_rounds},
        outcomes=outcomes,
        setup={
            "load_seconds_median": (
                round(sorted(load_seconds)[len(load_seconds) // 2], 2) if load_seconds else None
            ),
            "raw_mode": raw_mode[-1] if raw_mode else None,
        },
        notes=notes,
    )


WORKLOADS: dict[str, Callable[[Bench], WorkloadResult | Iterator[WorkloadResult]]] = {
    "lookup": llm_lookup_hit,
    "update": llm_update,
    "async": async_lookups,
    "mget": embeddings_mget,
    "mset": embeddings_mset,
    "embed": cache_backed_embeddings,
    "scale": scale,
    "clear": clear,
}
