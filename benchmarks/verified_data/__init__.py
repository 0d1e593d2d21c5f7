"""Ground-truth request data for the verified-cache benchmark (``benchmarks/verified.py``).

Written by hand for this benchmark (not taken from the library's ``evaluation`` pairs,
which serve calibration). Two parts with no topic in common:

* :mod:`.heldout` -- written and committed first, before the benchmark or any cache was
  run on anything, and never run while the benchmark was designed or tuned;
* :mod:`.design` -- written afterwards, the only part used while designing the benchmark.

Each part is a list of :class:`Group`: prompts that share one answer. Its ``id`` is the
ground-truth answer id every request of the group carries; the fake LLM of the benchmark
answers a prompt with its group's canonical answer, so "the cached answer equals the
fresh one" is exact ground truth. Groups of one ``family`` are near-duplicates of one
another whose answers differ (another number, entity, a negation, the opposite word, the
other direction, another attribute of the same thing); a family's ``variation`` says
which. Groups of kind ``unrelated`` are single prompts on their own topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Group", "group", "templated", "unrelated"]

#: The kinds of group.
PARAPHRASE = "paraphrase"  # a stand-alone set of paraphrases
NEAR = "near"  # one member of a family of near-duplicates with different answers
UNRELATED = "unrelated"  # a single prompt


@dataclass(frozen=True)
class Group:
    """Prompts with one answer (ground truth: the answer id is :attr:`id`)."""

    id: str
    prompts: tuple[str, ...]
    kind: str
    family: str | None = None
    variation: str | None = None

    @property
    def answer(self) -> str:
        """The canonical answer the fake LLM gives to every prompt of the group."""
        return f"The answer to question {self.id}."


def group(
    id_: str, *prompts: str, family: str | None = None, variation: str | None = None
) -> Group:
    """A hand-written group: a stand-alone paraphrase set, or (with ``family``) one member
    of a family of near-duplicates."""
    if len(prompts) < 2:
        raise ValueError(f"group {id_!r} needs at least two paraphrases")
    kind = NEAR if family is not None else PARAPHRASE
    return Group(id_, tuple(prompts), kind, family, variation)


def templated(
    family: str,
    variation: str,
    templates: Sequence[str],
    values: Sequence[Mapping[str, str]],
) -> list[Group]:
    """One group per value: every template filled with that value's slots. The groups of
    one call are near-duplicates of one another (same templates, different values)."""
    groups = []
    for value in values:
        slug = "-".join(v.strip().replace(" ", "_") for v in value.values() if v.strip())
        prompts = tuple(template.format(**value) for template in templates)
        groups.append(Group(f"{family}/{slug}", prompts, NEAR, family, variation))
    return groups


def unrelated(prefix: str, prompts: Sequence[str]) -> list[Group]:
    """Single prompts, each its own group."""
    return [Group(f"{prefix}/{i:02d}", (prompt,), UNRELATED) for i, prompt in enumerate(prompts)]


def check(groups: Sequence[Group]) -> None:
    """Ids are unique and no prompt belongs to two groups (a prompt has one answer)."""
    ids = [g.id for g in groups]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate group ids")
    seen: dict[str, str] = {}
    for g in groups:
        for prompt in g.prompts:
            if prompt in seen and seen[prompt] != g.id:
                raise ValueError(f"{prompt!r} is in {seen[prompt]} and {g.id}")
            seen[prompt] = g.id
