"""Development tools of this repository: real, throw-away Elasticsearch nodes and clusters,
without Docker, for the tests, the benchmarks and the scripts.

Not part of the installed package (the wheel holds only ``langchain_elasticsearch_cache``):
it is imported from a checkout, with the repository root on ``sys.path`` (pytest's rootdir,
``python -m benchmarks.run`` and ``python -m lecache_devtools`` run from the root).

One node: :mod:`.node` (``LocalElasticsearchNode``); several nodes forming one cluster:
:mod:`.cluster` (``LocalElasticsearchCluster``); by hand: ``python -m lecache_devtools``
(:mod:`.__main__`). Their parts: :mod:`.jdk` (finding a JDK), :mod:`.distribution` (Maven
Central download and cache), :mod:`.process` (one node's process, directory, ports and
user), :mod:`.tls` and :mod:`.security_index` (a secure node's TLS material and
``.security`` index plugin), :mod:`.errors` (what goes wrong), :mod:`._shared` (file-system
and subprocess helpers). The library never imports this package.
"""
