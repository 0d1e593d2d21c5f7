"""The negation rule: "Which plants are toxic?" never answers "Which plants are not toxic?".

Separate because its word table (negating words in the evaluation set's languages) and its
prefix rule ("unsafe" / "safe") grow on their own.
"""

from __future__ import annotations

from .words import wordlist, words

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


def _negations(tokens: list[str], other: set[str]) -> int:
    count = 0
    for word in tokens:
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
    query_words, candidate_words = words(query_text), words(candidate_text)
    return _negations(query_words, set(candidate_words)) == _negations(
        candidate_words, set(query_words)
    )
