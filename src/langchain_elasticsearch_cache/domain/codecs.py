"""Codecs between domain values and their stored form, safe against hostile documents.

Generations are stored as ``langchain_core.load.dumps`` strings, as the seed stores them.
They are read back with ``loads`` restricted to an explicit allowlist of output and message
classes and with secrets never read from the environment. Anything else, whatever the
reason, is a miss with a logged warning: never an exception in the caller and never an
object of a class outside the allowlist.

Decoding is on every cache hit, so the common case has a fast path: LangChain's ``loads``
recomputes its allowlist from every serialisation mapping on each call (hundreds of
microseconds). :func:`_revive` walks the parsed JSON exactly as ``load`` does (escaped
user data unwrapped and left alone, children before parents) and builds only the
allowlisted classes, looked up by the id ``dumps`` writes for them. Anything else (a
legacy class id, a secret, a ``not_implemented`` marker) is handed to ``loads`` itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from langchain_core.load import dumps, loads
from langchain_core.load.load import ALL_SERIALIZABLE_MAPPINGS, default_init_validator
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


def _fast_classes() -> dict[tuple[str, ...], type[Serializable]]:
    """The id ``dumps`` writes for each allowed class, where LangChain's own mapping
    resolves that id to that very class (so building it directly is what ``loads`` does)."""
    classes: dict[tuple[str, ...], type[Serializable]] = {}
    for cls in ALLOWED_GENERATION_CLASSES:
        class_id = tuple(cls.lc_id())
        target = ALL_SERIALIZABLE_MAPPINGS.get(class_id)
        if target and ".".join(target[:-1]) == cls.__module__ and target[-1] == cls.__name__:
            classes[class_id] = cls
    return classes


_FAST_CLASSES = _fast_classes()

_ESCAPED = "__lc_escaped__"  # how ``dumps`` wraps user data that looks like its own format
_MAX_DEPTH = 200  # as ``load``: deeper is refused


class _NotFastPath(Exception):
    """The value needs LangChain's full ``loads`` (which applies the allowlist itself)."""


def _revive(value: Any, depth: int = 0) -> Any:
    """``load(value)`` restricted to the fast-path classes; raises :class:`_NotFastPath`."""
    if depth > _MAX_DEPTH:
        raise _NotFastPath
    if isinstance(value, dict):
        if len(value) == 1 and _ESCAPED in value:
            return value[_ESCAPED]  # user data: returned as it is, never revived
        if value and depth >= _MAX_DEPTH:
            raise _NotFastPath  # its children are too deep, scalars included
        # scalars are what they are: only containers need a call (most values are scalars)
        loaded = {
            key: _revive(item, depth + 1) if isinstance(item, (dict, list)) else item
            for key, item in value.items()
        }
        if loaded.get("lc") == 1 and loaded.get("id") is not None:
            kind = loaded.get("type")
            if kind == "constructor":
                try:
                    cls = _FAST_CLASSES.get(tuple(loaded["id"]))
                except TypeError:  # an id that is not a list of strings
                    cls = None
                if cls is None:
                    raise _NotFastPath
                kwargs = loaded.get("kwargs", {})
                default_init_validator(tuple(loaded["id"]), kwargs)
                return cls(**kwargs)
            if kind in ("secret", "not_implemented"):
                raise _NotFastPath
        return loaded
    if isinstance(value, list):
        if value and depth >= _MAX_DEPTH:
            raise _NotFastPath
        return [
            _revive(item, depth + 1) if isinstance(item, (dict, list)) else item for item in value
        ]
    return value


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
                try:
                    value = _revive(json.loads(item))
                except _NotFastPath:
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


def _strict_b64decode(text: str) -> bytes:
    """Strict base64 (no stray characters, exact padding); non-ASCII text is refused."""
    if sys.version_info >= (3, 11):
        # what b64decode(validate=True) does on 3.11+, without its wrapper (a hot path:
        # every vector of every mget); a2b_base64 refuses non-ASCII str with ValueError
        return binascii.a2b_base64(text, strict_mode=True)
    return base64.b64decode(text.encode("ascii"), validate=True)


class VectorCodec:
    """Vector bytes <-> base64 text (the ``vector_dump`` field, mapped as ``binary``)."""

    def encode(self, vector: bytes) -> str:
        return base64.b64encode(vector).decode("ascii")

    def decode(self, stored: str, *, key: str = "?") -> bytes | None:
        try:
            return _strict_b64decode(stored)
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            logger.warning(
                "embedding entry %s holds invalid base64 and is treated as a miss: %s",
                key,
                _short(str(exc)),
            )
            return None
