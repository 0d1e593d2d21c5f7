"""The identity of a LangChain ``Embeddings`` object: which model makes its vectors.

Read by an **allowlist** of attribute names that name or shape a model (``model``,
``model_name``, ``deployment``, ``size``, ``dimensions``...), never by a blocklist: an
attribute not listed (an API key, a token, a client, an endpoint) is never read, so a
secret cannot end up in an index's ``_meta``. Only JSON scalars are kept (a ``SecretStr``,
a client or a dict is skipped even under an allowed name), and a URL value loses its user
name, password and query string. The result is stable across processes: no object id,
no ``repr`` with an address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ...domain.semantic.identity import EmbeddingIdentity, ParamValue

__all__ = ["MODEL_ATTRIBUTES", "PARAMETER_ATTRIBUTES", "embedding_identity"]

#: Attributes naming the model, in order of preference: the first string found is the
#: identity's ``model`` (WordLlamaEmbeddings: ``config``, its ``model`` being the loaded
#: weights).
MODEL_ATTRIBUTES = (
    "model",
    "model_name",
    "model_id",
    "deployment",
    "deployment_name",
    "azure_deployment",
    "repo_id",
    "config",
)
#: Attributes that change the vectors of one model (length, task, revision), recorded
#: as ``params`` when present and a JSON scalar.
PARAMETER_ATTRIBUTES = (
    "size",
    "dimensions",
    "dimension",
    "dims",
    "dim",
    "output_dimensionality",
    "embed_dim",
    "task_type",
    "input_type",
    "revision",
    "model_version",
)
#: Of the parameters, those that state the vector length (the identity's ``dims``).
_LENGTH_ATTRIBUTES = ("dimensions", "dims", "dim", "size", "dimension", "output_dimensionality")
#: A wrapper whose vectors are its inner model's (``CacheBackedEmbeddings``).
_WRAPPED_ATTRIBUTES = ("underlying_embeddings",)
_MAX_WRAPPING = 5
_ABSENT = object()


def _recordable(value: Any) -> tuple[bool, ParamValue]:
    """``(True, value)`` for a JSON scalar to record (a URL without its credentials and
    query), ``(False, None)`` for anything else."""
    if value is None or isinstance(value, (bool, int, float)):
        return True, value
    if not isinstance(value, str):
        return False, None
    text = str(value)
    if "://" in text:
        parts = urlsplit(text)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        text = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return True, text


def _attribute(embedding: Any, name: str) -> tuple[bool, ParamValue]:
    """The allowed attribute ``name`` of ``embedding``, if present and recordable."""
    try:
        value = getattr(embedding, name, _ABSENT)
    except Exception:  # a property that fails is as good as absent
        return False, None
    if value is _ABSENT or callable(value):
        return False, None
    return _recordable(value)


def embedding_identity(embedding: Any) -> EmbeddingIdentity:
    """The :class:`EmbeddingIdentity` of ``embedding`` (a LangChain ``Embeddings``).

    A wrapper that only caches vectors (``CacheBackedEmbeddings``) has its inner model's
    identity.
    """
    for _ in range(_MAX_WRAPPING):
        inner = next(
            (
                getattr(embedding, name)
                for name in _WRAPPED_ATTRIBUTES
                if callable(getattr(getattr(embedding, name, None), "embed_query", None))
            ),
            None,
        )
        if inner is None:
            break
        embedding = inner
    kind = type(embedding)
    path = f"{kind.__module__}.{kind.__qualname__}"
    model: str | None = None
    for name in MODEL_ATTRIBUTES:
        found, value = _attribute(embedding, name)
        if found and isinstance(value, str) and value:
            model = value
            break
    params: dict[str, ParamValue] = {}
    for name in PARAMETER_ATTRIBUTES:
        found, value = _attribute(embedding, name)
        if found:
            params[name] = value
    dims = next(
        (
            value
            for name in _LENGTH_ATTRIBUTES
            if isinstance(value := params.get(name), int)
            and not isinstance(value, bool)
            and value > 0
        ),
        None,
    )
    return EmbeddingIdentity(path, model, params, dims)
