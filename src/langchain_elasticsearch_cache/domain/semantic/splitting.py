"""Splitting a prompt into what is compared by meaning and what must match exactly.

Separate from the guards and the policy: it changes with LangChain's message format (the
``dumps`` of a message list), not with the rules that decide a hit.

LangChain hands a chat model's cache the ``dumps`` of its message list. Embedding that JSON
whole makes unrelated questions look alike (the boilerplate of one shared system message
dominates the vector). So the prompt is split into :class:`PromptParts`: ``meaning``, the
text of the last human message, which is embedded and compared by similarity; and
``context``, a canonical form of everything else (system prompt, earlier turns, tool
results, the last question's images), which must be identical: it is hashed with the
``llm_string`` (:func:`partition_hashes`) and the kNN search is filtered to equal hashes.
Any prompt that is not such a message list (a plain LLM prompt) is ``meaning`` whole, with
an empty ``context``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs

from ..keys import encode_text, frame

__all__ = ["PromptParts", "PromptSplitter", "partition_hashes", "split_prompt"]


@attrs.frozen
class PromptParts:
    """A prompt split into what is compared by meaning and what must match exactly.

    An empty (or blank) ``meaning`` has nothing to compare by meaning: such a prompt is
    answered by exact-key hits only, and is stored without a vector.

    Attributes:
        meaning: The text that is embedded and compared by cosine similarity (for a chat
            prompt, the text of the last human message).
        context: Everything that must be identical for a hit, in a canonical form (hashed
            into the kNN filter); ``""`` for a plain prompt.
    """

    meaning: str
    context: str = ""

    @property
    def searchable(self) -> bool:
        """Whether ``meaning`` has any non-blank text to embed and search by."""
        return bool(self.meaning.strip())


PromptSplitter = Callable[[str], PromptParts]
"""Turns the prompt LangChain gives the cache into :class:`PromptParts`."""

_HUMAN_CLASSES = frozenset({"HumanMessage", "HumanMessageChunk"})
_CHAT_CLASSES = frozenset({"ChatMessage", "ChatMessageChunk"})
_USER_ROLES = frozenset({"human", "user"})
# Fields a message carries that no model sees: LangChain does not send them to the provider,
# so two conversations differing only there ask the same thing (an id is an identifier,
# response and usage metadata are the provider's report about an earlier answer).
_NOT_SENT_FIELDS = frozenset({"id", "response_metadata", "usage_metadata"})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _is_human(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("type") != "constructor":
        return False
    ids, kwargs = message.get("id"), message.get("kwargs")
    if not isinstance(ids, list) or not ids or not isinstance(kwargs, dict):
        return False
    name = ids[-1]
    if name in _HUMAN_CLASSES:
        return True
    return name in _CHAT_CLASSES and kwargs.get("role") in _USER_ROLES


def _message_view(message: Any) -> Any:
    """What of a message must be identical: everything but the fields no model sees."""
    if not isinstance(message, dict):
        return message
    view = dict(message)
    kwargs = view.get("kwargs")
    if isinstance(kwargs, dict):
        view["kwargs"] = {k: v for k, v in kwargs.items() if k not in _NOT_SENT_FIELDS}
    return view


def _split_content(content: Any) -> tuple[str, list[Any]] | None:
    """(the text, the parts that are not text) of a message's content; None when odd."""
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        return None
    texts: list[str] = []
    others: list[Any] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif (
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
            and set(part) <= {"type", "text", "id"}
        ):
            texts.append(part["text"])
        else:
            # images, audio, files, text blocks with annotations...: must match exactly
            others.append(part)
    return "\n".join(texts), others


def _split_messages(prompt: str) -> PromptParts | None:
    if not prompt.startswith("["):
        return None  # the common plain prompt: no JSON parse
    messages = json.loads(prompt)
    if not isinstance(messages, list) or not messages:
        return None
    if not all(isinstance(m, dict) and m.get("lc") == 1 for m in messages):
        return None
    last = next((i for i in range(len(messages) - 1, -1, -1) if _is_human(messages[i])), None)
    if last is None:
        return None
    question = messages[last]
    split = _split_content(question["kwargs"].get("content"))
    if split is None:
        return None
    text, other_parts = split
    question_view = _message_view(question)
    question_view["kwargs"] = {k: v for k, v in question_view["kwargs"].items() if k != "content"}
    context = {
        "before": [_message_view(m) for m in messages[:last]],
        "question": question_view,
        "question_parts": other_parts,
        "after": [_message_view(m) for m in messages[last + 1 :]],
    }
    return PromptParts(meaning=text, context=_canonical(context))


def split_prompt(prompt: str) -> PromptParts:
    """The default splitter; never raises, whatever the string.

    For a serialised LangChain message list (``langchain_core.load.dumps(messages)``):
    ``meaning`` is the text of the last human message (its text parts joined by newlines),
    ``context`` a canonical JSON of everything else: the other messages with their fields
    (minus ``id``, ``response_metadata`` and ``usage_metadata``, which no model sees), the
    last human message's other fields, and its non-text content parts, so a question about
    one image never matches the same question about another. Anything else is ``meaning``
    whole with ``context=""``.

    Args:
        prompt: The prompt string LangChain passes to the cache's ``lookup``/``update``.

    Returns:
        The :class:`PromptParts` of ``prompt``.
    """
    try:
        parts = _split_messages(prompt)
    except Exception:  # not JSON, too deep, huge integers...: not a message list
        parts = None
    return parts if parts is not None else PromptParts(meaning=prompt, context="")


def partition_hashes(llm_string: str, context: str) -> tuple[str, str]:
    """``(llm_string_hash, context_hash)``: SHA-256 over length-framed, tagged inputs.

    A kNN search is filtered to entries with equal hashes (keywords, cheap to compare);
    the tags keep the two hashes apart from each other and from cache keys.

    Args:
        llm_string: LangChain's description of the model and its parameters.
        context: The :attr:`PromptParts.context` of the prompt.

    Returns:
        The two hex digests, ``(llm_string_hash, context_hash)``.
    """
    llm_hash = hashlib.sha256(frame(b"semantic-llm", encode_text(llm_string))).hexdigest()
    context_hash = hashlib.sha256(frame(b"semantic-context", encode_text(context))).hexdigest()
    return llm_hash, context_hash
