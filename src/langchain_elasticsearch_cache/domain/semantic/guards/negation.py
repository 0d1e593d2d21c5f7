"""The negation rule: "Which plants are toxic?" never answers "Which plants are not toxic?".

Separate because its word table (negating words in the evaluation set's languages) and its
prefix rule ("unsafe" / "safe") grow on their own.
"""

from __future__ import annotations

from .words import per_text, word_set, word_tuple, wordlist

__all__ = ["NEGATORS", "negation_guard"]


#: Words that negate, in English and in the other languages of the evaluation set. French
#: counts "pas", "jamais", "rien"... but not "ne", which spoken French drops and written
#: French doubles ("ne ... pas"), so counting it would make registers disagree; Italian "mai"
#: is left out too ("non ... mai" counts once by "non"; "come mai" is "how come"). "nor", "ni"
#: are not counted ("neither ... nor" is one negation). "personne" (nobody / person) is left
#: out, being ambiguous.
NEGATORS = frozenset(
    {
        # English
        *wordlist("not no never none nobody nothing nowhere neither without cannot non"),
        *wordlist("dont doesnt didnt cant wont isnt arent wasnt werent havent hasnt hadnt"),
        *wordlist("shouldnt wouldnt couldnt mustnt aint"),
        # French, German, Spanish, Italian, Portuguese, Dutch, Polish
        *wordlist("pas jamais aucun aucune rien sans"),
        *wordlist("nicht kein keine keinen keinem keiner keines nie niemals nichts niemand ohne"),
        *wordlist("nunca jamás nada nadie ninguno ninguna ningún sin tampoco"),
        *wordlist("non niente nulla nessuno nessuna senza"),
        *wordlist("não ninguém nenhum nenhuma sem"),
        *wordlist("niet geen nooit niets zonder"),
        *wordlist("nigdy nic nikt bez"),
    }
)
_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non")
_MIN_STEM = 4  # "unit" is not "un" + "it", nor "into" "in" + "to"


@per_text
def _negation_words(text: str) -> tuple[int, tuple[str, ...]]:
    """(how many words of ``text`` negate by themselves, the words that may negate by a
    prefix: those starting with one of :data:`_NEGATING_PREFIXES`, in order)."""
    count = 0
    prefixed: list[str] = []
    for word in word_tuple(text):
        if word in NEGATORS or word.endswith("n't"):
            count += 1
        elif word.startswith(_NEGATING_PREFIXES):
            prefixed.append(word)
    return count, tuple(prefixed)


def _negations(text: str, other: frozenset[str]) -> int:
    count, prefixed = _negation_words(text)
    for word in prefixed:
        if any(
            word.startswith(prefix)
            and len(word) - len(prefix) >= _MIN_STEM
            and word[len(prefix) :] in other
            for prefix in _NEGATING_PREFIXES
        ):
            count += 1  # "unsafe" against "safe", "illegal" against "legal"
    return count


def negation_guard(query_text: str, candidate_text: str | None) -> bool:
    """The negation rule: both texts hold as many negations.

    "Which plants are toxic to cats?" never answers "Which plants are not toxic to cats?".

    A negation is a word of :data:`NEGATORS` (English and the set's other languages), a
    contraction ending in "n't", or a word that is the other text's word with a negating
    prefix ("unsafe" / "safe", "illegal" / "legal", "nonmagnetic" / "magnetic"): so "not
    safe" and "unsafe" agree (one negation each). Counts, not parity, must be equal: a
    double negation is rare in a question, and a second "not" usually negates another part.

    Args:
        query_text: The meaning text of the prompt being looked up.
        candidate_text: The stored meaning text of the candidate entry, or ``None`` when
            the entry was stored without its input (``store_input=False``).

    Returns:
        True when the counts are equal, or the candidate is unknown.
    """
    if candidate_text is None:
        return True
    return _negations(query_text, word_set(candidate_text)) == _negations(
        candidate_text, word_set(query_text)
    )
