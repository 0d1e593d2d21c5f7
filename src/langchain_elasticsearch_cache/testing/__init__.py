"""Contract test suites, for users who write a repository adapter of their own.

An adapter implements a port of :mod:`langchain_elasticsearch_cache.domain.ports`; a test
class of the user's own suite that subclasses one of these contracts (and provides a
``repository`` fixture) holds it to the same behaviour as the adapters shipped here. They
need ``pytest`` and ``pytest-asyncio``.

- :mod:`.contract`: ``LlmRepositoryContract``, ``EmbeddingRepositoryContract`` and their
  async forms, for exact-match repositories (plus ``CorruptDocumentContract``);
- :mod:`.vector_contract`: ``VectorRepositoryContract`` and its async form, for the vector
  repositories behind the semantic caches.

Each module's docstring shows how to plug an adapter in. The in-memory adapters that pass
them too are in :mod:`langchain_elasticsearch_cache.adapters.memory` and
:mod:`langchain_elasticsearch_cache.adapters.memory_vector`. The library itself never
imports this package. (The throw-away Elasticsearch nodes of the project's own tests are
the repository's ``lecache_devtools``, not part of the installed package.)
"""
