"""The units rule: "walk 5 km" never answers "walk 5 miles", nor "°C" "°F", nor "$" "€".

Separate because its unit table (spellings of each unit, symbols, one-letter units after a
number) is long and changes for no other rule.
"""

from __future__ import annotations

import re
from collections import Counter

from .words import words

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
        "watt": "watt watts kw kilowatt kilowatts",
        "mph": "mph",
        "kph": "kph",
        "acre": "acre acres",
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
_SHORT_UNITS = {"m": "m", "g": "g", "l": "l", "h": "hour", "s": "second"}


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
    for word in words(without_speed):
        if word in _UNIT_WORDS:
            found[_UNIT_WORDS[word]] += 1
    return found


def unit_guard(query_text: str, candidate_text: str | None) -> bool:
    """The units rule: both texts name the same units (:func:`unit_words`, as a multiset).

    "How long to walk 5 km?" never answers "How long to walk 5 miles?", nor "°C" "°F", nor
    "$" "€".

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        True when the multisets are equal, or the candidate is unknown.
    """
    if candidate_text is None:
        return True
    return unit_words(query_text) == unit_words(candidate_text)
