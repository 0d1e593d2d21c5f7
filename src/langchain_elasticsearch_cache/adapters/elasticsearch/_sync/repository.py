# Generated from _async/repository.py by scripts/run_unasync.py: do not edit by hand.
# Change the async source and run `python scripts/run_unasync.py`.
"""The Elasticsearch repository.

``_async/*.py`` is the source; ``_sync/*.py`` is generated from it by
``scripts/run_unasync.py`` (``--check`` fails when it is stale). Edit the async files only.

The repository class is built from layers, one module each, each
building on the ones listed before it:

* ``base``: the constructor's checks, the shared state, the plumbing (error
  translation, write options, key checks);
* ``indices``: creating, identifying and checking the index on first use; the concrete
  indices behind an alias;
* ``lookups``: ``get``, ``get_many``, ``newest_copy_indices`` (realtime GET / mget);
* ``writes``: ``put``, ``put_many``, ``delete_many`` (index and bulk requests);
* ``searches``: ``count``, ``scan``, and the refresh a search waits for;
* ``purge``: ``clear``, ``delete_older_than`` (delete by query, or search and bulk);
* this module: the public class, closing, the context manager.

How it talks to Elasticsearch, and why:

* Lookups are realtime ``GET`` / ``mget``: a write is visible to the next lookup without
  any refresh, so writes never force one (``refresh`` is passed only when the caller asks
  for it).
* Lookups and writes ask for no ``_source`` filtering and no ``filter_path``: a cache
  document holds only the fields a record needs, so filtering would shrink nothing, and
  it costs the node a parse and re-serialisation of every document it returns (measured
  on 8.19: +60 us per GET, up to twice the time of an ``mget`` of 1,000 vectors; see
  ``benchmarks/RESULTS.md``). Unknown fields in a document are ignored.
* Behind an alias the concrete indices are resolved (and remembered for
  ``alias_cache_seconds``) and every ``(index, key)`` pair is fetched with one realtime
  ``mget``; per key the copy with the newest ``timestamp`` wins.
* ``count``, ``scan``, ``clear`` and ``delete_older_than`` are searches, which only see
  refreshed documents, so they refresh the target first; without the ``maintenance``
  privilege they wait for the next refresh instead (``_wait_for_refresh``), never search
  stale documents.
* ``clear`` / ``delete_older_than`` use ``_delete_by_query`` when the cluster has it and
  otherwise stream the matching ids with a point in time and bulk-delete them.
"""

from __future__ import annotations

from types import TracebackType

from ....domain.ports import R
from .base import epoch_millis
from .purge import Purge

# epoch_millis: imported from here by vector_repository
__all__ = ["ElasticsearchRepository", "epoch_millis"]


class ElasticsearchRepository(Purge[R]):
    """Records of one kind (``LLM_RECORDS`` or ``EMBEDDING_RECORDS``) in an index or alias.

    Args:
        client: the Elasticsearch client; closed by :meth:`close` only if ``owns_client``.
        index_name: index or alias. A missing index is created with the kind's mapping on
            first use; an alias gets the mapping put on it and is written through with
            ``require_alias``. An existing index (every index behind an alias) is checked
            on first use, before anything is read or written: one whose mapping cannot
            hold this kind's entries, or that holds the other kind's, is a
            ``ConfigurationError`` (see ``mappings.check_index_mapping``).
        kind: what is stored, how it is mapped and (de)serialised.
        refresh: passed to every write when not ``False`` (``True`` or ``"wait_for"``);
            lookups never need it, searches by other tools may.
        maximum_duplicates_allowed: behind an alias, how many copies of one key (one per
            index) are expected. Lookups always fetch every copy and return the newest;
            finding more copies than this logs a warning (once per repository), since
            each extra copy costs a fetch and storage. Must be at least 1.
        chunk_size: documents per bulk request, ids per ``mget``, hits per search page in
            ``clear`` / ``delete_older_than``.
        owns_client: close the client in :meth:`close` (when the caller built it for
            this repository, e.g. with ``create_elasticsearch_client``).
        alias_cache_seconds: how long the concrete indices behind an alias are remembered;
            forgotten earlier when a write fails or lands in an index not in the list.

    Raises:
        InvalidIndexNameError: ``index_name`` breaks Elasticsearch's naming rules.
        ConfigurationError: ``refresh``, ``maximum_duplicates_allowed``, ``chunk_size`` or
            ``alias_cache_seconds`` is out of range.

    Behind an alias, ``count`` and ``clear`` count documents (a key stored in two indices
    counts twice); ``scan`` yields each key once, the copy ``get`` returns (checked page by
    page with one realtime ``mget``); ``delete_many`` removes a key from every index and
    counts it once.
    """

    def close(self) -> None:
        """Close the client if this repository created it (``owns_client``)."""
        if self._owns_client and not self._closed:
            self._closed = True
            with self._translated("close"):
                self._client.close()

    def __enter__(self) -> ElasticsearchRepository[R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
