"""The units rule: "walk 5 km" never answers "walk 5 miles", nor "°C" "°F", nor "$" "€".

Separate because its unit table (spellings of each unit, symbols, one-letter units after a
number) is long and changes for no other rule.
"""

from __future__ import annotations

import re
from collections import Counter

from .numerals import number_counts
from .words import TOKEN_RE, per_text, word_set

__all__ = ["unit_guard", "unit_words"]


def _unit_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, spellings in {
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
        "joule": "joule joules",
        "watt": "watt watts kw kilowatt kilowatts",
        "mph": "mph",
        "kph": "kph",
        "acre": "acre acres",
        "parsec": "parsec parsecs",
        "hectare": "hectare hectares",
        "byte": "byte bytes kb mb gb tb kilobyte kilobytes megabyte megabytes gigabyte gigabytes",
    }.items():
        for word in spellings.split():
            table[word] = canonical
    return table


_UNIT_WORDS = _unit_table()
# symbols, and one-letter units right after a number ("5 m", "3h", "200g")
_UNIT_SYMBOL_RE = re.compile(
    r"km\s?/\s?h|°\s?[CF]\b|[$€£¥]|(?<=\d)\s?(?P<short>[mglhs])\b", re.IGNORECASE
)
_SYMBOLS = {"$": "usd", "€": "eur", "£": "gbp", "¥": "jpy"}
_SPEED_RE = re.compile(r"km\s?/\s?h", re.IGNORECASE)
# the last word or number of a text ("5", "1,000", "twenty-five"), and a number first
_LAST_WORD_RE = re.compile(r"[\w.,'-]+$")
_FIRST_NUMBER_RE = re.compile(r"\s?\d")
_SHORT_UNITS = {"m": "m", "g": "g", "l": "l", "h": "hour", "s": "second"}


def _is_quantity(text: str) -> bool:
    """Whether ``text`` (the word next to a unit, hyphens and spaces stripped) is a number
    (:func:`.numerals.extract_numbers`: digits or a spelled-out number, not an ordinal)."""
    return any(kind != "ord" for kind, _ in number_counts(text))


def _quantified_before(text: str, start: int) -> bool:
    before = _LAST_WORD_RE.search(text[:start].rstrip(" \t-\u00a0"))
    return before is not None and _is_quantity(before.group())


def _quantified_after(text: str, end: int) -> bool:
    return _FIRST_NUMBER_RE.match(text[end:]) is not None


@per_text
def _unit_occurrences(text: str) -> tuple[tuple[str, bool], ...]:
    """Each unit of ``text``, canonical, with whether a quantity comes with it: a number
    right before it ("5 km", "five-mile", "20°C", "3h"), or right after a currency symbol
    ("$4")."""
    found: list[tuple[str, bool]] = []
    for match in _UNIT_SYMBOL_RE.finditer(text):
        token = match.group()
        if match["short"]:
            short = _SHORT_UNITS.get(match["short"].lower())
            if short is not None:  # a letter that only matched case-insensitively: not a unit
                found.append((short, True))
            continue
        if token in _SYMBOLS:
            unit = _SYMBOLS[token]
        elif token.lower().startswith("km"):
            unit = "kph"
        else:
            unit = "celsius" if token[-1] in "cC" else "fahrenheit"
        quantified = _quantified_before(text, match.start()) or (
            token in _SYMBOLS and _quantified_after(text, match.end())
        )
        found.append((unit, quantified))
    if word_set(text).isdisjoint(_UNIT_WORDS) and _SPEED_RE.search(text) is None:
        return tuple(found)  # the words below are the text's words: none is a unit
    without_speed = _SPEED_RE.sub(lambda m: " " * len(m.group()), text)
    for match in TOKEN_RE.finditer(without_speed):
        word = match.group().lower().replace("\u2019", "'")
        if word in _UNIT_WORDS:
            found.append((_UNIT_WORDS[word], _quantified_before(text, match.start())))
    return tuple(found)


def unit_words(text: str) -> Counter[str]:
    """The multiset of units in ``text``, canonical ("kilometres" is "km").

    "km", "kilometres" and "kilometers" are one unit; "$" and "dollars" another; "°C" is
    "celsius". One-letter units ("5 m", "3h") count only right after a number. "pound" is
    the weight (a "£" is "gbp").

    Args:
        text: Any text.

    Returns:
        How many times each canonical unit occurs.
    """
    return Counter(unit for unit, _ in _unit_occurrences(text))


def unit_guard(query_text: str, candidate_text: str | None) -> bool:
    """The units rule: a quantity is in the same unit in both texts, and two texts that
    name units name the same ones.

    "How long to walk 5 km?" never answers "How long to walk 5 miles?", nor "°C" "°F", nor
    "$" "€", nor "Is 38 a fever?" "Is 38 °F a fever?". Refused when the units that come
    with a quantity (a number right before: "5 km", "five miles", "20°C"; after a currency
    symbol: "$4") differ, as multisets; or, when both texts name a unit, when the units
    without a quantity differ ("in Fahrenheit" / "in Celsius", "a cup of sugar" / "a
    tablespoon of sugar", "Convert 50 kg to pounds" / "Convert 50 kg").

    A unit word without a quantity, against a text that names no unit at all, is no
    conflict: "make a cup of green tea" / "prepare green tea", "What are your opening
    hours?" / "When are you open?". ("a" is no quantity, as for
    :func:`.numerals.number_guard`: "a cup" is a cup, not one cup.)

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        False when the quantified units differ, or both texts name units and those without
        a quantity differ; True otherwise, or when the candidate is unknown.
    """
    if candidate_text is None:
        return True
    query, candidate = _unit_counts(query_text), _unit_counts(candidate_text)
    if query[0] != candidate[0]:
        return False  # the units with a quantity differ
    if not query[2] or not candidate[2]:
        return True  # a unit without a quantity, against a text naming no unit
    return query[1] == candidate[1]


_NO_UNITS: Counter[str] = Counter()  # shared, never mutated


@per_text
def _unit_counts(text: str) -> tuple[Counter[str], Counter[str], bool]:
    """(the units of ``text`` with a quantity, those without, whether it names any)."""
    occurrences = _unit_occurrences(text)
    if not occurrences:
        return _NO_UNITS, _NO_UNITS, False
    quantified = Counter(unit for unit, with_quantity in occurrences if with_quantity)
    bare = Counter(unit for unit, with_quantity in occurrences if not with_quantity)
    return quantified, bare, bool(occurrences)
