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

Encoding refuses what could never be read back. ``dumps`` does not fail on a value it
cannot serialise (a ``datetime`` in ``response_metadata``, ``bytes`` in
``additional_kwargs``, a pydantic object): it writes a ``not_implemented`` marker that
``loads`` refuses, so such an entry would be written on every call and missed on every
lookup. :func:`_unreadable_part` walks the serialised tree once (no decode round trip)
and finds exactly what decoding would refuse: a ``not_implemented`` or ``secret`` marker,
a class outside the allowlist, nesting beyond ``load``'s depth limit.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from langchain_core.load import dumpd, loads
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

from .errors import UncacheableAnswerError

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


_GENERATION_IDS = frozenset(
    class_id for class_id, cls in _FAST_CLASSES.items() if issubclass(cls, Generation)
)


def _class_name(class_id: Any) -> str:
    if isinstance(class_id, list) and class_id and all(isinstance(p, str) for p in class_id):
        return ".".join(class_id)
    return repr(class_id)


Unreadable = tuple[list[str | int], str]
"""Where decoding would refuse (path segments, innermost first) and what is there."""


def _unreadable_part(value: Any, depth: int = 0) -> Unreadable | None:
    """What in a serialised tree :meth:`GenerationCodec.decode` would refuse, or ``None``.

    Mirrors :func:`_revive` (and ``load``): escaped user data is never revived, so it is
    not searched; a marker dict is one with ``lc == 1`` and an ``id``. Only the path of a
    problem is built (on the way back up), so a readable tree costs one walk.
    """
    if isinstance(value, dict):
        if len(value) == 1 and _ESCAPED in value:
            return None  # user data: decoded as it is
        if value and depth >= _MAX_DEPTH:
            return [], f"values nested deeper than {_MAX_DEPTH} levels"
        constructor = False
        if value.get("lc") == 1 and value.get("id") is not None:
            kind = value.get("type")
            if kind == "not_implemented":
                return [], f"a {_class_name(value['id'])} object"
            if kind == "secret":
                return [], "a secret"
            if kind == "constructor":
                class_id = value["id"]
                if not isinstance(class_id, list) or tuple(class_id) not in _FAST_CLASSES:
                    return [], (
                        f"a {_class_name(class_id)}, which is not one of the generation and "
                        f"message classes the cache reads back"
                    )
                kwargs = value.get("kwargs", {})
                if isinstance(kwargs, dict) and kwargs.get("template_format") == "jinja2":
                    return [], "a jinja2 template_format, which loading refuses"
                constructor = True
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                found = _unreadable_part(item, depth + 1)
                if found is not None:
                    if not (constructor and key == "kwargs"):
                        found[0].append(key)
                    return found
        return None
    if isinstance(value, list):
        if value and depth >= _MAX_DEPTH:
            return [], f"values nested deeper than {_MAX_DEPTH} levels"
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                found = _unreadable_part(item, depth + 1)
                if found is not None:
                    found[0].append(index)
                    return found
    return None


def _field_path(root: str, segments: list[str | int]) -> str:
    """``generations[0]`` + reversed segments: ``generations[0].message.response_metadata.x``."""
    parts = [root]
    for segment in reversed(segments):
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif segment.isidentifier():
            parts.append(f".{segment}")
        else:
            parts.append(f"[{segment!r}]")
    return "".join(parts)


def unreadable_generation(tree: Any, root: str = "generation") -> UncacheableAnswerError | None:
    """Why the serialised generation ``tree`` (``dumpd``'s output) would not read back.

    ``None`` exactly when :meth:`GenerationCodec.decode` of its JSON returns a generation.
    """
    if not (
        isinstance(tree, dict)
        and tree.get("lc") == 1
        and tree.get("type") == "constructor"
        and isinstance(tree.get("id"), list)
        and tuple(tree["id"]) in _GENERATION_IDS
    ):
        found = type(tree).__name__ if not isinstance(tree, dict) else "no generation"
        return UncacheableAnswerError(root, f"{found}, not a LangChain Generation")
    found_part = _unreadable_part(tree)
    if found_part is None:
        return None
    segments, problem = found_part
    return UncacheableAnswerError(_field_path(root, segments), problem)


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
        """The stored strings (``dumps``'s output), or :class:`UncacheableAnswerError` when
        an item could never be read back (see :func:`unreadable_generation`).

        ``json.dumps(dumpd(g))`` is exactly ``dumps(g)``; having the tree in hand lets the
        check walk it without parsing the string again.
        """
        stored: list[str] = []
        for index, generation in enumerate(generations):
            root = f"generations[{index}]"
            try:
                tree = dumpd(generation)
                text = json.dumps(tree)
            except Exception as exc:  # e.g. a non-JSON value inside user data dumps escapes
                raise UncacheableAnswerError(
                    root, f"a value LangChain cannot serialise ({type(exc).__name__}: {exc})"
                ) from None
            problem = unreadable_generation(tree, root)
            if problem is not None:
                raise problem
            stored.append(text)
        return tuple(stored)

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
