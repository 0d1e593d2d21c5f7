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
default, :func:`default_hit_guard`, combines small rules: the same numbers
(:func:`number_guard`), negations, opposite words, calendar words, units, and the order of
shared entities and of identical content words.
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

from .entries import LlmRecord
from .errors import ConfigurationError
from .expiry import expiry_cutoff
from .keys import _frame, encode_text
from .policies import LlmCachePolicy
from .semantic_records import SemanticCandidate, SemanticRecord, VectorQuery

__all__ = [
    "DEFAULT_GUARD_RULES",
    "DEFAULT_K",
    "DEFAULT_SIMILARITY_THRESHOLD",
    "NEGATORS",
    "OPPOSITES",
    "STOPWORDS",
    "HitGuard",
    "PromptParts",
    "PromptSplitter",
    "SemanticCachePolicy",
    "SemanticHit",
    "calendar_guard",
    "calendar_words",
    "combine_guards",
    "content_words",
    "default_hit_guard",
    "entities",
    "entity_order_guard",
    "extract_numbers",
    "negation_guard",
    "number_guard",
    "opposite_guard",
    "partition_hashes",
    "split_prompt",
    "unit_guard",
    "unit_words",
    "validate_k",
    "word_order_guard",
    "validate_similarity_threshold",
]

#: The default minimum cosine similarity of a semantic hit: a cautious starting point, to be
#: calibrated for your embedding model (``langchain-elasticsearch-cache calibrate``).
#: ``benchmarks/SEMANTIC.md`` measures it with the offline ``wordllama`` model on the 700-pair
#: evaluation set: with the default hit guard it gives precision about 0.96 there (0.9 on the
#: small held-out set); calibrated at 0.95 the grid chooses 0.89, one step away, well inside
#: the spread of a calibration, so the data do not support another value.
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


# ----------------------------------------------------------------- the other guard rules
#
# Each rule below is pure, never raises, and is symmetric: rule(a, b) == rule(b, a). Each
# returns True for an unknown candidate (``None``): it has nothing to compare, and the default
# guard's answer for such a candidate is :func:`number_guard`'s, as before these rules.


# words, with inner apostrophes kept ("don't", "l'eau"); digits are numbers' business
def _wordlist(words: str) -> list[str]:
    return words.split()


_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")

#: Words that negate, in English and in the other languages of the evaluation set. French
#: counts "pas", "jamais", "rien"... but not "ne", which spoken French drops and written
#: French doubles ("ne ... pas"), so counting it would make registers disagree; Italian "mai"
#: is left out too ("non ... mai" counts once by "non"; "come mai" is "how come"). "nor", "ni"
#: are not counted ("neither ... nor" is one negation). "personne" (nobody / person) is left
#: out, being ambiguous.
NEGATORS = frozenset(
    {
        # English
        *_wordlist("not no never none nobody nothing nowhere neither without cannot non"),
        *_wordlist("dont doesnt didnt cant wont isnt arent wasnt werent havent hasnt hadnt"),
        *_wordlist("shouldnt wouldnt couldnt mustnt aint"),
        # French, German, Spanish, Italian, Portuguese, Dutch, Polish
        *_wordlist("pas jamais aucun aucune rien sans"),
        *_wordlist("nicht kein keine keinen keinem keiner keines nie niemals nichts niemand ohne"),
        *_wordlist("nunca jamás nada nadie ninguno ninguna ningún sin tampoco"),
        *_wordlist("non niente nulla nessuno nessuna senza"),
        *_wordlist("não ninguém nenhum nenhuma sem"),
        *_wordlist("niet geen nooit niets zonder"),
        *_wordlist("nigdy nic nikt bez"),
    }
)
_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non")
_MIN_STEM = 4  # "unit" is not "un" + "it", nor "into" "in" + "to"


def _words(text: str) -> list[str]:
    return [match.group().lower().replace("\u2019", "'") for match in _TOKEN_RE.finditer(text)]


def _negations(words: list[str], other: set[str]) -> int:
    count = 0
    for word in words:
        if word in NEGATORS or word.endswith("n't"):
            count += 1
        elif any(
            word.startswith(prefix)
            and len(word) - len(prefix) >= _MIN_STEM
            and word[len(prefix) :] in other
            for prefix in _NEGATING_PREFIXES
        ):
            count += 1  # "unsafe" against "safe", "illegal" against "legal"
    return count


def negation_guard(query_text: str, candidate_text: str | None) -> bool:
    """Both texts hold as many negations: "Which plants are toxic to cats?" never answers
    "Which plants are not toxic to cats?".

    A negation is a word of :data:`NEGATORS` (English and the set's other languages), a
    contraction ending in "n't", or a word that is the other text's word with a negating
    prefix ("unsafe" / "safe", "illegal" / "legal", "nonmagnetic" / "magnetic"): so "not
    safe" and "unsafe" agree (one negation each). Counts, not parity, must be equal: a
    double negation is rare in a question, and a second "not" usually negates another part.
    """
    if candidate_text is None:
        return True
    query_words, candidate_words = _words(query_text), _words(candidate_text)
    return _negations(query_words, set(candidate_words)) == _negations(
        candidate_words, set(query_words)
    )


#: Pairs of word groups of opposite polarity: a text with only the first group's words never
#: answers one with only the second's ("benefits" / "drawbacks", "good" / "bad").
OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(positive.split()), frozenset(negative.split()))
    for positive, negative in (
        ("good", "bad"),
        ("best", "worst"),
        ("better", "worse"),
        (
            "benefit benefits advantage advantages pro pros upside upsides",
            "drawback drawbacks disadvantage disadvantages con cons downside downsides",
        ),
        ("strength strengths", "weakness weaknesses"),
        ("increase increases raise", "decrease decreases reduce lower"),
        ("more", "less fewer"),
        ("before", "after"),
        ("true", "false"),
        ("safe", "dangerous"),
        ("legal allowed permitted", "illegal forbidden banned prohibited"),
        ("cheap cheaper cheapest", "expensive"),
        ("easy easier easiest", "hard harder hardest difficult"),
        ("hot", "cold"),
        ("high", "low"),
        ("love", "hate"),
        ("start", "stop"),
        ("win", "lose"),
        ("buy", "sell"),
        ("import", "export"),
        ("upload", "download"),
        ("encrypt", "decrypt"),
        ("add", "remove"),
        ("open", "close"),
    )
)


def opposite_guard(query_text: str, candidate_text: str | None) -> bool:
    """Neither text asks the opposite of the other: refused when one text holds only the
    "positive" words of a pair of :data:`OPPOSITES` and the other only the "negative" ones
    ("What are the benefits of remote work?" / "What are the downsides of remote work?").
    A text holding both sides ("pros and cons") is never refused by that pair.
    """
    if candidate_text is None:
        return True
    query_words, candidate_words = set(_words(query_text)), set(_words(candidate_text))
    for positive, negative in OPPOSITES:
        q_pos, q_neg = bool(query_words & positive), bool(query_words & negative)
        c_pos, c_neg = bool(candidate_words & positive), bool(candidate_words & negative)
        if (q_pos and not q_neg and c_neg and not c_pos) or (
            q_neg and not q_pos and c_pos and not c_neg
        ):
            return False
    return True


_WEEKDAYS = _wordlist("monday tuesday wednesday thursday friday saturday sunday")
_MONTHS = _wordlist(
    "january february march april may june july august september october november december"
)
_MONTH_ABBREVIATIONS = {
    "jan": "january",
    "feb": "february",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
}
_CALENDAR = (
    {day: day for day in _WEEKDAYS}
    | {day + "s": day for day in _WEEKDAYS}
    | {month: month for month in _MONTHS}
    | _MONTH_ABBREVIATIONS
    | {word: word for word in _wordlist("today tomorrow yesterday tonight weekend")}
    | {word: word for word in _wordlist("spring summer autumn winter")}
)
_PERIODS = frozenset({"week", "month", "year", "weekend", "decade", "century", "season"})
_PERIOD_MARKERS = frozenset({"last", "next", "this", "previous", "coming", "past"})
_SENTENCE_END = re.compile(r"[.!?\n:;]\s*$")


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'\u201c\u2018\u00ab\u00bf\u00a1([")
    return not before or bool(_SENTENCE_END.search(before))


def calendar_words(text: str) -> Counter[str]:
    """The multiset of calendar words in ``text``: weekdays, months (full or abbreviated:
    "Jan" is "january"), today / tomorrow / yesterday / tonight / weekend, the seasons, and
    "last/next/this ... week/month/year" (as "last week"). "May" counts only capitalised
    and inside a sentence ("in May"), not as "May I ...?" or "you may". English only.
    """
    found: Counter[str] = Counter()
    previous = ""
    for match in _TOKEN_RE.finditer(text):
        raw = match.group()
        word = raw.lower()
        if word == "may" and (raw != "May" or _starts_sentence(text, match.start())):
            previous = word
            continue
        if word in _CALENDAR:
            found[_CALENDAR[word]] += 1
        if word in _PERIODS and previous in _PERIOD_MARKERS:
            found[f"{previous} {word}"] += 1
        previous = word
    return found


def calendar_guard(query_text: str, candidate_text: str | None) -> bool:
    """Both texts name the same calendar words (:func:`calendar_words`, as a multiset):
    "Is the museum open on Monday?" never answers "... on Sunday?", nor "today" "tomorrow".
    """
    if candidate_text is None:
        return True
    return calendar_words(query_text) == calendar_words(candidate_text)


def _unit_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, words in {
        "km": "km kms kilometre kilometres kilometer kilometers",
        "mile": "mile miles mi",
        "m": "metre metres meter meters",
        "cm": "cm centimetre centimetres centimeter centimeters",
        "mm": "mm millimetre millimetres millimeter millimeters",
        "ft": "ft foot feet",
        "inch": "inch inches",
        "yard": "yard yards yd",
        "kg": "kg kgs kilogram kilograms kilo kilos",
        "g": "gram grams gramme grammes",
        "lb": "lb lbs pound pounds",
        "oz": "oz ounce ounces",
        "tonne": "ton tons tonne tonnes",
        "l": "litre litres liter liters",
        "ml": "ml millilitre millilitres milliliter milliliters",
        "gallon": "gallon gallons",
        "quart": "quart quarts",
        "pint": "pint pints",
        "cup": "cup cups",
        "tbsp": "tbsp tablespoon tablespoons",
        "tsp": "tsp teaspoon teaspoons",
        "celsius": "celsius centigrade",
        "fahrenheit": "fahrenheit",
        "kelvin": "kelvin",
        "hour": "hour hours hr hrs",
        "minute": "minute minutes mins",
        "second": "seconds secs",
        "ms": "millisecond milliseconds ms",
        "usd": "usd dollar dollars",
        "eur": "eur euro euros",
        "gbp": "gbp sterling",
        "jpy": "jpy yen",
        "cent": "cent cents",
        "kcal": "kcal calorie calories",
        "kj": "kj kilojoule kilojoules",
        "kwh": "kwh",
        "watt": "watt watts kw kilowatt kilowatts",
        "mph": "mph",
        "kph": "kph",
        "acre": "acre acres",
        "hectare": "hectare hectares",
        "byte": "byte bytes kb mb gb tb kilobyte kilobytes megabyte megabytes gigabyte gigabytes",
    }.items():
        for word in words.split():
            table[word] = canonical
    return table


_UNIT_WORDS = _unit_table()
# symbols, and one-letter units right after a number ("5 m", "3h", "200g")
_UNIT_SYMBOL_RE = re.compile(
    r"km\s?/\s?h|°\s?[CF]\b|[$€£¥]|(?<=\d)\s?(?P<short>[mglhs])\b", re.IGNORECASE
)
_SYMBOLS = {"$": "usd", "€": "eur", "£": "gbp", "¥": "jpy"}
_SHORT_UNITS = {"m": "m", "g": "g", "l": "l", "h": "hour", "s": "second"}


def unit_words(text: str) -> Counter[str]:
    """The multiset of units in ``text``, canonical: "km", "kilometres" and "kilometers" are
    one unit; "$" and "dollars" another; "°C" is "celsius". One-letter units ("5 m", "3h")
    count only right after a number. "pound" is the weight (a "£" is "gbp").
    """
    found: Counter[str] = Counter()
    for match in _UNIT_SYMBOL_RE.finditer(text):
        token = match.group()
        if match["short"]:
            found[_SHORT_UNITS[match["short"].lower()]] += 1
        elif token in _SYMBOLS:
            found[_SYMBOLS[token]] += 1
        elif token.lower().startswith("km"):
            found["kph"] += 1
        else:
            found["celsius" if token[-1] in "cC" else "fahrenheit"] += 1
    without_speed = re.sub(r"km\s?/\s?h", " ", text, flags=re.IGNORECASE)
    for word in _words(without_speed):
        if word in _UNIT_WORDS:
            found[_UNIT_WORDS[word]] += 1
    return found


def unit_guard(query_text: str, candidate_text: str | None) -> bool:
    """Both texts name the same units (:func:`unit_words`, as a multiset): "How long to walk
    5 km?" never answers "How long to walk 5 miles?", nor "°C" "°F", nor "$" "€"."""
    if candidate_text is None:
        return True
    return unit_words(query_text) == unit_words(candidate_text)


#: Words that carry no content of their own for the order rules: articles, pronouns,
#: auxiliaries, question words, common prepositions and conjunctions (English).
STOPWORDS = frozenset(
    _wordlist("""
    a an the of to in on at for from by with about as into onto than then and or but if so
    that this these those there here it its i me my mine you your yours we us our they them
    their he him his she her what which who whom whose why how when where is are was were be
    been being am do does did done can could should would will shall may might must have has
    had having please some any just also very much many really too up out over under between
    via per vs versus s t""")
)
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|(?<!\w)'([^']+)'(?!\w)")


def _entity_sequence(text: str, initial_allowed: set[str]) -> tuple[list[str], set[str]]:
    """(entities in order of appearance, capitalised candidates found inside sentences)."""
    spans: list[tuple[int, str]] = []
    for match in _QUOTED_RE.finditer(text):
        inner = next(group for group in match.groups() if group is not None)
        spans.append((match.start(), "“" + " ".join(_words(inner)) + "”"))
    quoted = [(match.start(), match.end()) for match in _QUOTED_RE.finditer(text)]
    for match in _NUMBER_RE.finditer(text):
        if not any(start <= match.start() < end for start, end in quoted):
            spans.append((match.start(), "#" + match["number"].replace(",", "")))
    inside: set[str] = set()
    for match in _TOKEN_RE.finditer(text):
        if any(start <= match.start() < end for start, end in quoted):
            continue
        raw, word = match.group(), match.group().lower()
        if word in STOPWORDS or not any(ch.isupper() for ch in raw):
            continue
        initial = _starts_sentence(text, match.start()) and not any(ch.isupper() for ch in raw[1:])
        if not initial:
            inside.add(word)
            spans.append((match.start(), word))
        elif word in initial_allowed:
            spans.append((match.start(), word))
    spans.sort()
    return [name for _, name in spans], inside


def entities(text: str) -> list[str]:
    """The entities of ``text`` in order: quoted strings, numbers, and words with a capital
    letter that are not a sentence's first word (unless capitalised inside, like "iPhone"
    or "PS5") nor a stopword. Lower-cased; a quoted string is one entity."""
    return _entity_sequence(text, set())[0]


def _first_occurrences(sequence: list[str], keep: set[str]) -> list[str]:
    return list(dict.fromkeys(item for item in sequence if item in keep))


def entity_order_guard(query_text: str, candidate_text: str | None) -> bool:
    """Refused when both texts name the same two or more entities (:func:`entities`) in
    another order: "Is Paris bigger than Lyon?" never answers "Is Lyon bigger than Paris?",
    nor "from Windows to Linux" "from Linux to Windows".

    The order compared is that of each shared entity's first appearance. A sentence's first
    word counts as an entity when the other text has it as one ("Paris is bigger than
    Lyon" / "Is Lyon bigger than Paris?").
    """
    if candidate_text is None:
        return True
    _, query_inside = _entity_sequence(query_text, set())
    _, candidate_inside = _entity_sequence(candidate_text, set())
    query_entities = _entity_sequence(query_text, candidate_inside)[0]
    candidate_entities = _entity_sequence(candidate_text, query_inside)[0]
    shared = set(query_entities) & set(candidate_entities)
    if len(shared) < 2:
        return True
    return _first_occurrences(query_entities, shared) == _first_occurrences(
        candidate_entities, shared
    )


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not :data:`STOPWORDS`, lower-cased, in order."""
    return [word for word in _words(text) if word not in STOPWORDS]


def _is_rotation(a: list[str], b: list[str]) -> bool:
    return len(a) == len(b) and any(a[k:] + a[:k] == b for k in range(len(a)))


def word_order_guard(query_text: str, candidate_text: str | None) -> bool:
    """Refused when both texts have exactly the same content words (:func:`content_words`,
    as a multiset, at least three) in an order that is not a rotation of the other's.

    "Why do cats chase mice?" / "Why do mice chase cats?" and "convert a list to a tuple" /
    "convert a tuple to a list" are refused. Moving a phrase to the front or the back ("For
    a soft yolk, how long do I boil an egg?") is a rotation of the content words and is
    accepted, and so are two-word texts, where a swap and a rotation are the same thing.
    """
    if candidate_text is None:
        return True
    query_words, candidate_words = content_words(query_text), content_words(candidate_text)
    if len(query_words) < 3 or Counter(query_words) != Counter(candidate_words):
        return True
    return _is_rotation(query_words, candidate_words)


def combine_guards(*guards: HitGuard) -> HitGuard:
    """One guard that accepts a candidate only if every one of ``guards`` does (in order,
    stopping at the first refusal). Use it to add a rule of your own to the default one:
    ``combine_guards(default_hit_guard, my_rule)``."""
    for guard in guards:
        if not callable(guard):
            raise ConfigurationError(
                f"combine_guards takes hit guards, callables (query_text, candidate_text) "
                f"-> bool; got {type(guard).__name__}"
            )
    rules = tuple(guards)

    def combined(query_text: str, candidate_text: str | None) -> bool:
        return all(rule(query_text, candidate_text) for rule in rules)

    combined.__doc__ = "All of: " + ", ".join(getattr(g, "__name__", repr(g)) for g in rules)
    return combined


#: The rules of :func:`default_hit_guard`, by name (the quality report switches each off).
DEFAULT_GUARD_RULES: dict[str, HitGuard] = {
    "numbers": number_guard,
    "negation": negation_guard,
    "opposites": opposite_guard,
    "calendar": calendar_guard,
    "units": unit_guard,
    "entity_order": entity_order_guard,
    "word_order": word_order_guard,
}


def default_hit_guard(query_text: str, candidate_text: str | None) -> bool:
    """The default hit guard: every rule of :data:`DEFAULT_GUARD_RULES` must accept.

    Same numbers (:func:`number_guard`), as many negations (:func:`negation_guard`), no
    opposite words (:func:`opposite_guard`), the same calendar words and units
    (:func:`calendar_guard`, :func:`unit_guard`), shared entities in the same order
    (:func:`entity_order_guard`) and, when the content words are the same, no swap
    (:func:`word_order_guard`). An embedding model that averages word vectors scores all of
    these pairs like paraphrases; the rules are cheap and pure. When the candidate's text was
    not stored (``store_input=False``) only the number rule can answer: the candidate is
    accepted if the query holds no number.
    """
    return all(rule(query_text, candidate_text) for rule in DEFAULT_GUARD_RULES.values())


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
    hit_guard: HitGuard | None = attrs.field(default=default_hit_guard, converter=_resolve_guard)
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
            generations = self.llm.answer(record.llm_record)
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
        return self.with_vector(
            self.llm.record(prompt, llm_string, generations, now), llm_string, parts, vector
        )

    def with_vector(
        self,
        base: LlmRecord,
        llm_string: str,
        parts: PromptParts,
        vector: Sequence[float] | None,
    ) -> SemanticRecord:
        """The semantic record of an exact-cache record (made first, so an answer that can
        never be cached is refused before the embedding model is asked for its vector)."""
        llm_hash, context_hash = partition_hashes(llm_string, parts.context)
        return SemanticRecord(
            key=base.key,
            llm_output=base.llm_output,
            timestamp=base.timestamp,
            llm_string_hash=llm_hash,
            context_hash=context_hash,
            vector=vector,
            prompt_text=parts.meaning if self.llm.store_input else None,
            llm_input=base.llm_input,
            llm_params=base.llm_params,
            metadata=base.metadata,
        )
