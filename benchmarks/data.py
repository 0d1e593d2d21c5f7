"""Deterministic synthetic data: prompts, chat answers, embedding vectors, documents.

The LLM entries look like a chat model's: a ~300-character prompt, an ``llm_string`` like
the one LangChain builds for a chat model, and a ``ChatGeneration`` holding an
``AIMessage`` of ~400 characters (about 1 KB per stored ``llm_output`` item). Documents
are written in the shape both libraries store and under the seed's keys
(``md5(prompt + llm_string)``), so the seed, this library (``key_scheme="legacy"``) and
the raw client all read the very same documents.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import struct
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from langchain_core.load import dumps
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration

__all__ = [
    "LLM_STRING",
    "NAMESPACE",
    "answer",
    "float32_vector",
    "generations",
    "json_vector",
    "legacy_embedding_id",
    "legacy_llm_key",
    "llm_actions",
    "prompt",
]

LLM_STRING = (
    "{'lc': 1, 'type': 'constructor', 'id': ['langchain', 'chat_models', 'openai', "
    "'ChatOpenAI'], 'kwargs': {'model_name': 'gpt-4o-mini', 'temperature': 0.0, "
    "'max_tokens': 512, 'openai_api_key': {'lc': 1, 'type': 'secret', 'id': "
    "['OPENAI_API_KEY']}}, 'name': 'ChatOpenAI'}---[('stop', None)]"
)
NAMESPACE = "text-embedding-3-small"
_PROMPT_FILLER = (
    "You are a helpful assistant. Answer concisely and cite the relevant section of the "
    "documentation when you can. Context: the user is configuring a cache for language "
    "model responses in Elasticsearch and wants to know how expiry interacts with aliases."
)
_ANSWER_FILLER = (
    "Entries older than the configured ttl are treated as misses on lookup and can be "
    "purged in bulk; behind an alias every index is consulted and the newest copy of a "
    "key wins, so rolling over to a new index keeps old answers readable until they "
    "expire. Writes are not refreshed: lookups are realtime gets. " * 2
)
_PLACEHOLDER = "@@ANSWER@@"


def prompt(i: int) -> str:
    return f"Question {i}: {_PROMPT_FILLER}"


def answer(i: int) -> str:
    return f"Answer {i}. {_ANSWER_FILLER}"


def generations(i: int) -> list[ChatGeneration]:
    return [ChatGeneration(message=AIMessage(content=answer(i)))]


def legacy_llm_key(i: int) -> str:
    """The seed's key, which ``key_scheme="legacy"`` computes too."""
    return hashlib.md5((prompt(i) + LLM_STRING).encode()).hexdigest()


def legacy_embedding_id(key: str, namespace: str | None = None) -> str:
    return hashlib.md5(((namespace or "") + key).encode()).hexdigest()


@functools.cache
def _generation_template() -> str:
    return dumps(ChatGeneration(message=AIMessage(content=_PLACEHOLDER)))


def llm_document(i: int, timestamp: str) -> dict[str, Any]:
    """The document either library writes for entry ``i`` (serialised once, then patched)."""
    text = json.dumps(answer(i))[1:-1]
    return {
        "llm_output": [_generation_template().replace(_PLACEHOLDER, text)],
        "timestamp": timestamp,
        "llm_params": LLM_STRING,
        "llm_input": prompt(i),
    }


def llm_actions(index: str, count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Bulk actions loading entries ``start`` .. ``start + count - 1`` into ``index``."""
    timestamp = datetime.now(timezone.utc).isoformat()
    for i in range(start, start + count):
        yield {
            "_op_type": "index",
            "_index": index,
            "_id": legacy_llm_key(i),
            "_source": llm_document(i, timestamp),
        }


def float32_vector(i: int, dims: int) -> bytes:
    """A deterministic vector of ``dims`` float32 values, as the bytes a ByteStore holds."""
    rng = random.Random(i)
    return struct.pack(f"<{dims}f", *(rng.uniform(-1.0, 1.0) for _ in range(dims)))


def json_vector(i: int, dims: int) -> list[float]:
    """A deterministic embedding as LangChain returns it (6-decimal floats)."""
    rng = random.Random(i)
    return [round(rng.uniform(-1.0, 1.0), 6) for _ in range(dims)]
