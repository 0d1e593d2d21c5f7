"""What a cache puts on the indices behind an alias: the fields its write index lacks.

Behind an alias, new entries go to the write index only; the other indices (older
generations, kept for their entries) are read and purged, never written to. So the first
use puts the cache's mapping on the write index, and only the fields it does not map yet:
a put-mapping request on the alias would reach every index behind it, and

* fail when an older index is read-only (``index.blocks.read_only``: the cluster refuses
  a mapping change of it even when the mapping would not change), although nothing is
  ever written there;
* need the ``manage`` privilege on every index, where the caches' role has ``write``
  only: Elasticsearch 8.x and 9.x still let ``write`` put mappings, with the deprecation
  warning that it "will not permit mapping updates in the next major release".

An index bootstrapped or rolled over by this library maps every field already: then no
request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["alias_write_index", "unmapped_properties"]


def alias_write_index(aliases: Mapping[str, Any], alias: str) -> str | None:
    """The index that writes through ``alias`` go to, from a ``GET _alias/<alias>`` body:
    the one marked ``is_write_index``, else the only index behind it (unless marked not
    to be). ``None``: writes through the alias are refused, so nothing needs mapping."""
    flags = {
        str(index): ((body.get("aliases") or {}).get(alias) or {}).get("is_write_index")
        for index, body in aliases.items()
    }
    marked = [index for index, flag in flags.items() if flag is True]
    if marked:
        return marked[0]
    if len(flags) == 1:
        index, flag = next(iter(flags.items()))
        return None if flag is False else index
    return None


def unmapped_properties(wanted: Mapping[str, Any], mappings: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` (a ``properties`` mapping) that ``mappings`` (an index's
    ``mappings``) does not map; fields mapped already are left as they are."""
    present = mappings.get("properties") or {}
    return {name: value for name, value in wanted.items() if name not in present}
