"""The semantic cache's rules: what is compared by meaning, what must match, when a hit is one.

Pure code (no I/O, no clock, no embedding model): the interfaces embed, search and decide
with these functions.

*Splitting a prompt.* LangChain hands a chat model's cache the ``dumps`` of its message
list. Embedding that JSON whole makes unrelated questions look alike (the boilerplate of
one shared system message dominates the vector). So the prompt is split into
:class:`PromptParts`: ``meaning``, the text of the last human message, which is embedded
and compared by similarity; and ``context``, a canonical form of everything else (system
prompt, earlier turns, tool results, the last question's images), which must be identical:
it is hashed with the ``llm_string`` and the kNN search is filtered to equal hashes. Any
prompt that is not such a message list (a plain LLM prompt) is ``meaning`` whole, with an
empty ``context``.

*Hit guards.* Two questions that differ only in a number embed almost identically ("What
is 2+2?" / "What is 2+3?"). A guard sees the query's meaning text and the candidate's
(``None`` when entries are stored without their input) and may refuse the candidate; the
default, :func:`number_guard`, requires the same numbers in both.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
from langchain_core.outputs import Generation

from .errors import ConfigurationError
from .expiry import expiry_cutoff
from .keys import _frame, encode_text
from .policies import LlmCachePolicy
from .semantic_records import SemanticCandidate, SemanticRecord, VectorQuery

__all__ = [
    "DEFAULT_K",
    "DEFAULT_SIMILARITY_THRESHOLD",
    "HitGuard",
    "PromptParts",
    "PromptSplitter",
    "SemanticCachePolicy",
    "SemanticHit",
    "extract_numbers",
    "number_guard",
    "partition_hashes",
    "split_prompt",
    "validate_k",
    "validate_similarity_threshold",
]

#: The default minimum cosine similarity of a semantic hit: a cautious starting point, to be
#: calibrated for your embedding model (``langchain-elasticsearch-cache calibrate``).
#: ``benchmarks/SEMANTIC.md`` measures it with the offline ``wordllama`` model on the 700-pair
#: evaluation set: on the pairs a threshold can sort, precision peaks around 0.9 and no higher
#: value gains precision; the wrong hits left (negations, swapped roles) score about 1 with
#: that model and no threshold removes them.
DEFAULT_SIMILARITY_THRESHOLD = 0.9

#: How many nearest candidates one lookup asks for: the guard or the codec may refuse the
#: nearest, and the next one is then tried without another search.
DEFAULT_K = 4
MAX_K = 100


# --------------------------------------------------------------------------- splitting


@attrs.frozen
class PromptParts:
    """A prompt split into what is compared by meaning and what must match exactly.

    An empty (or blank) ``meaning`` has nothing to compare by meaning: such a prompt is
    answered by exact-key hits only, and is stored without a vector.
    """

    meaning: str
    context: str = ""

    @property
    def searchable(self) -> bool:
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
    """
    llm_hash = hashlib.sha256(_frame(b"semantic-llm", encode_text(llm_string))).hexdigest()
    context_hash = hashlib.sha256(_frame(b"semantic-context", encode_text(context))).hexdigest()
    return llm_hash, context_hash


# --------------------------------------------------------------------------- validation


def validate_similarity_threshold(value: Any) -> float:
    """A cosine similarity in [-1, 1], or a ``ConfigurationError`` saying how to fix it."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationError(
            f"similarity_threshold must be a number between -1 and 1 (a cosine similarity; "
            f"a hit needs at least this), not {value!r}; leave it out for the default "
            f"{DEFAULT_SIMILARITY_THRESHOLD}"
        )
    threshold = float(value)
    if math.isnan(threshold) or not -1.0 <= threshold <= 1.0:
        raise ConfigurationError(
            f"similarity_threshold must be a cosine similarity between -1 and 1, got "
            f"{value!r}; it is a similarity, not a distance: 1 accepts only identical "
            f"directions, lower values accept looser matches (default "
            f"{DEFAULT_SIMILARITY_THRESHOLD})"
        )
    return threshold


def validate_k(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise ConfigurationError(
            f"k (the candidates one semantic lookup examines) must be an integer from 1 to "
            f"{MAX_K}, got {value!r}"
        )
    return value


# --------------------------------------------------------------------------- guards

HitGuard = Callable[[str, str | None], bool]
"""``guard(query_text, candidate_text)``: may this candidate answer this query?
``candidate_text`` is ``None`` when the entry was stored without its input."""

_WORD_NUMBERS = {
    word: index
    for index, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_TENS |= {"eighty": 80, "ninety": 90}
_ORDINAL_WORDS = {
    word: index
    for index, word in enumerate(
        [
            "zeroth",
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
            "twentieth",
        ]
    )
}
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_WORD_RE = re.compile(
    r"\b(?:(?P<tens>" + "|".join(_TENS) + r")(?:[-\s](?P<unit>" + _UNITS + r"))?"
    r"|(?P<word>" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + r")"
    r"|(?P<ordinal>" + "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True)) + r"))\b",
    re.IGNORECASE,
)
# a sign only where it cannot be an operator: not after a letter, digit or closing bracket
_NUMBER_RE = re.compile(
    r"(?P<sign>(?<![\w)\]])[-+\u2212])?"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<suffix>\s?%|st\b|nd\b|rd\b|th\b)?",
    re.IGNORECASE,
)


def _decimal(digits: str) -> Decimal:
    ascii_digits = "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in digits.replace(",", "")
    )
    return Decimal(ascii_digits)


def _canonical_number(kind: str, value: Decimal) -> tuple[str, str]:
    normalized = value.normalize()
    if normalized == 0:
        normalized = Decimal(0)  # -0 and 0.0 are 0
    return kind, format(normalized, "f")


def extract_numbers(text: str) -> Counter[tuple[str, str]]:
    """The multiset of numbers in ``text``, as ``(kind, value)``.

    ``kind`` is ``"n"`` (a number), ``"%"`` (a percentage) or ``"ord"`` (an ordinal:
    "3rd", "third"). Values are normalised: ``"1,000"``, ``"1000"`` and ``"1000.0"`` are
    the same number; ``"-5"`` is not ``"5"``, but in ``"2-5"`` the dash is an operator.
    Digits of any script count. Spelled-out numbers from zero to ninety-nine and ordinals
    up to "twentieth" count too ("two apples" = "2 apples"); larger spelled-out numbers
    and fractions in words do not (a known gap: such pairs are left to the similarity).
    """
    found: Counter[tuple[str, str]] = Counter()
    for match in _NUMBER_RE.finditer(text):
        try:
            value = _decimal(match["number"])
        except (InvalidOperation, ValueError):
            continue
        if match["sign"] in ("-", "\u2212"):
            value = -value
        suffix = (match["suffix"] or "").strip().lower()
        kind = "%" if suffix == "%" else "ord" if suffix else "n"
        found[_canonical_number(kind, value)] += 1
    for match in _WORD_RE.finditer(text):
        if match["tens"]:
            number = _TENS[match["tens"].lower()]
            if match["unit"]:
                number += _WORD_NUMBERS[match["unit"].lower()]
            found[_canonical_number("n", Decimal(number))] += 1
        elif match["word"]:
            found[_canonical_number("n", Decimal(_WORD_NUMBERS[match["word"].lower()]))] += 1
        else:
            ordinal = _ORDINAL_WORDS[match["ordinal"].lower()]
            found[_canonical_number("ord", Decimal(ordinal))] += 1
    return found


def number_guard(query_text: str, candidate_text: str | None) -> bool:
    """The default hit guard: both texts hold the same numbers (as a multiset).

    "What is 2+2?" never answers "What is 2+3?", nor "2 apples" "two apples and 3 pears".
    When the candidate's text was not stored (``store_input=False``) it cannot be checked:
    the candidate is accepted only if the query holds no number at all.
    """
    query_numbers = extract_numbers(query_text)
    if candidate_text is None:
        return not query_numbers
    return query_numbers == extract_numbers(candidate_text)


def _resolve_guard(value: Any) -> HitGuard | None:
    if value is None or callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"hit_guard must be a callable (query_text, candidate_text) -> bool, or None to "
        f"accept every candidate above the threshold, not {type(value).__name__}"
    )


def _resolve_splitter(value: Any) -> PromptSplitter:
    if value is None:
        return split_prompt
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"prompt_splitter must be a callable (prompt) -> PromptParts, or None for the "
        f"default, not {type(value).__name__}"
    )


# --------------------------------------------------------------------------- policy


@attrs.frozen
class SemanticHit:
    """What a semantic lookup chose: the candidate and its decoded generations."""

    candidate: SemanticCandidate
    generations: list[Generation]

    @property
    def similarity(self) -> float:
        return self.candidate.similarity


def _llm_policy(value: LlmCachePolicy | None) -> LlmCachePolicy:
    return LlmCachePolicy() if value is None else value


# A store may compute similarities in float32 (Elasticsearch does): a candidate it found at
# the threshold may come back a rounding error below it, and is still one it found.
_SIMILARITY_SLACK = 1e-6


@attrs.frozen
class SemanticCachePolicy:
    """The semantic cache's rules: the exact cache's (``llm``) plus splitting, threshold,
    guard and ``k``. Every method is pure; the current time is passed in."""

    llm: LlmCachePolicy = attrs.field(factory=LlmCachePolicy, converter=_llm_policy)
    splitter: PromptSplitter = attrs.field(default=None, converter=_resolve_splitter)
    similarity_threshold: float = attrs.field(
        default=DEFAULT_SIMILARITY_THRESHOLD, converter=validate_similarity_threshold
    )
    hit_guard: HitGuard | None = attrs.field(default=number_guard, converter=_resolve_guard)
    k: int = attrs.field(default=DEFAULT_K, converter=validate_k)

    @property
    def ttl(self) -> timedelta | None:
        return self.llm.ttl

    def key(self, prompt: str, llm_string: str) -> str:
        return self.llm.key(prompt, llm_string)

    def split(self, prompt: str) -> PromptParts:
        """The prompt's parts; a custom splitter's answer is checked."""
        parts = self.splitter(prompt)
        if isinstance(parts, PromptParts):
            return parts
        if (
            isinstance(parts, Sequence)
            and len(parts) == 2
            and all(isinstance(part, str) for part in parts)
        ):
            return PromptParts(meaning=parts[0], context=parts[1])
        raise ConfigurationError(
            f"prompt_splitter returned {type(parts).__name__}; it must return "
            "PromptParts(meaning, context) (both str)"
        )

    def exact_generations(
        self, record: SemanticRecord | None, now: datetime
    ) -> list[Generation] | None:
        """An exact-key lookup's answer: ``None`` for absent, expired or unreadable."""
        return None if record is None else self.llm.generations(record.llm_record, now)

    def query(
        self, parts: PromptParts, llm_string: str, vector: Sequence[float], now: datetime
    ) -> VectorQuery:
        llm_hash, context_hash = partition_hashes(llm_string, parts.context)
        ttl = self.llm.ttl
        return VectorQuery(
            vector=vector,
            llm_string_hash=llm_hash,
            context_hash=context_hash,
            min_similarity=self.similarity_threshold,
            k=self.k,
            not_before=None if ttl is None else expiry_cutoff(now, ttl),
        )

    def choose(
        self,
        query: VectorQuery,
        query_text: str,
        candidates: Sequence[SemanticCandidate],
        now: datetime,
    ) -> SemanticHit | None:
        """The most similar acceptable candidate, decoded; ``None`` when none is.

        A candidate is checked again here (partition, threshold, expiry: a store that
        answered loosely must not cause a wrong hit), then by the guard, then decoded
        with the safe codec: a corrupt or hostile one is skipped for the next.
        """
        ordered = sorted(candidates, key=lambda candidate: -candidate.similarity)
        for candidate in ordered:
            record = candidate.record
            if not (
                record.llm_string_hash == query.llm_string_hash
                and record.context_hash == query.context_hash
                and math.isfinite(candidate.similarity)
                and candidate.similarity >= query.min_similarity - _SIMILARITY_SLACK
                and self.llm.is_live(record.llm_record, now)
            ):
                continue
            if self.hit_guard is not None and not self.hit_guard(query_text, record.prompt_text):
                continue
            generations = self.llm.codec.decode(record.llm_output, key=record.key)
            if generations is not None:
                return SemanticHit(candidate=candidate, generations=generations)
        return None

    def record(
        self,
        prompt: str,
        llm_string: str,
        generations: Sequence[Generation],
        parts: PromptParts,
        vector: Sequence[float] | None,
        now: datetime,
    ) -> SemanticRecord:
        base = self.llm.record(prompt, llm_string, generations, now)
        llm_hash, context_hash = partition_hashes(llm_string, parts.context)
        return SemanticRecord(
            key=base.key,
            llm_output=base.llm_output,
            timestamp=now,
            llm_string_hash=llm_hash,
            context_hash=context_hash,
            vector=vector,
            prompt_text=parts.meaning if self.llm.store_input else None,
            llm_input=base.llm_input,
            llm_params=base.llm_params,
            metadata=base.metadata,
        )
