"""Codecs between domain values and their stored form, safe against hostile documents.

Generations are stored as ``langchain_core.load.dumps`` strings, as the seed stores them.
They are read back with ``loads`` restricted to an explicit allowlist of output and message
classes and with secrets never read from the environment. Anything else, whatever the
reason, is a miss with a logged warning: never an exception in the caller and never an
object of a class outside the allowlist.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.load import dumps, loads
from langchain_core.load.serializable import Serializable
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    ChatMessageChunk,
    FunctionMessage,
    FunctionMessageChunk,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    SystemMessageChunk,
    ToolMessage,
    ToolMessageChunk,
)
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    Generation,
    GenerationChunk,
)

logger = logging.getLogger("langchain_elasticsearch_cache")

ALLOWED_GENERATION_CLASSES: tuple[type[Serializable], ...] = (
    Generation,
    GenerationChunk,
    ChatGeneration,
    ChatGenerationChunk,
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    SystemMessageChunk,
    ChatMessage,
    ChatMessageChunk,
    ToolMessage,
    ToolMessageChunk,
    FunctionMessage,
    FunctionMessageChunk,
)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _secret_reference(text: str) -> bool:
    try:
        return _names_secret(json.loads(text))
    except ValueError:
        return False  # not JSON: loads() below rejects it


def _names_secret(value: Any) -> bool:
    """True when a serialised LangChain object refers to a secret anywhere inside.

    Data that only looks like one is escaped by ``dumps`` under ``__lc_escaped__`` and
    stays data on load, so escaped subtrees are not searched.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "secret" and "lc" in item:
                return True
            stack.extend(v for k, v in item.items() if k != "__lc_escaped__")
        elif isinstance(item, list):
            stack.extend(item)
    return False


class GenerationCodec:
    """Generations <-> the strings stored in ``llm_output``."""

    def encode(self, generations: Sequence[Generation]) -> tuple[str, ...]:
        return tuple(dumps(generation) for generation in generations)

    def decode(self, stored: Sequence[str], *, key: str = "?") -> list[Generation] | None:
        """The generations, or ``None`` (a miss) if any item is not a safe generation."""
        generations: list[Generation] = []
        for item in stored:
            if not isinstance(item, str):
                logger.warning("cache entry %s holds a non-string item: a miss", key)
                return None
            # A cached answer never holds a secret: an entry that names one is forged.
            # The substring test keeps the full scan off the common path.
            if '"secret"' in item and _secret_reference(item):
                logger.warning("cache entry %s refers to a secret and is treated as a miss", key)
                return None
            try:
                value = loads(
                    item,
                    allowed_objects=ALLOWED_GENERATION_CLASSES,
                    secrets_from_env=False,
                )
            except Exception as exc:  # hostile or corrupt input: a miss, whatever it raised
                logger.warning(
                    "cache entry %s is unreadable and is treated as a miss: %s: %s",
                    key,
                    type(exc).__name__,
                    _short(str(exc)),
                )
                return None
            if not isinstance(value, Generation):
                logger.warning(
                    "cache entry %s does not hold generations (found %s) and is treated as a miss",
                    key,
                    type(value).__name__,
                )
                return None
            generations.append(value)
        return generations


class VectorCodec:
    """Vector bytes <-> base64 text (the ``vector_dump`` field, mapped as ``binary``)."""

    def encode(self, vector: bytes) -> str:
        return base64.b64encode(vector).decode("ascii")

    def decode(self, stored: str, *, key: str = "?") -> bytes | None:
        try:
            return base64.b64decode(stored.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            logger.warning(
                "embedding entry %s holds invalid base64 and is treated as a miss: %s",
                key,
                _short(str(exc)),
            )
            return None
