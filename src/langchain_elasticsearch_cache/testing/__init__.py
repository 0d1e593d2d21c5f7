"""Helpers for tests and benchmarks: real, throw-away Elasticsearch nodes and clusters,
without Docker.

Nothing here is imported by the library itself. One node: :mod:`.node`
(``LocalElasticsearchNode``); several nodes forming one cluster: :mod:`.cluster`
(``LocalElasticsearchCluster``). Their parts: :mod:`.jdk` (finding a JDK),
:mod:`.distribution` (Maven Central download and cache), :mod:`.process` (one node's
process, directory, ports and user), :mod:`.tls` and :mod:`.security_index` (a secure
node's TLS material and ``.security`` index plugin); :mod:`.contract` is the repository
contract suite.
"""
