"""What goes wrong when a local Elasticsearch node is fetched, prepared, started or stopped."""

from __future__ import annotations

__all__ = ["DistributionError", "JdkNotFoundError", "NodeError", "NodeStartError"]


class NodeError(RuntimeError):
    """A local Elasticsearch node could not be fetched, prepared, started or stopped."""


class JdkNotFoundError(NodeError):
    """No installed JDK fits the Elasticsearch version."""


class DistributionError(NodeError):
    """The distribution could not be downloaded or unpacked."""


class NodeStartError(NodeError):
    """The node died while starting or did not become healthy in time."""
