"""Which embedding model made the vectors of a semantic index: its identity.

Vectors of two models are not comparable, even when they have the same length: a cosine
between them means nothing, so a cache whose index holds one model's vectors must refuse
another model instead of searching and writing with it. The vector length alone cannot
tell (``DeterministicFakeEmbedding(size=256)`` and a 256-dimension WordLlama agree on it),
so the index records the model's identity when it is made and the cache compares it at
first use.

An identity is a pure description, built by the interface layer from the ``Embeddings``
object (:func:`~langchain_elasticsearch_cache.interfaces.langchain.embedding_identity
.embedding_identity`): the class, the model name and the model-defining parameters, read
by an allowlist of attribute names (never an API key, a client or a URL's credentials),
each a JSON scalar, so it is the same in every process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import ConfigurationError

__all__ = ["EmbeddingIdentity", "ParamValue", "embedding_mismatch"]

#: A parameter's value: a JSON scalar (anything else is not recorded).
ParamValue = str | int | float | bool | None


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _params(value: Any) -> tuple[tuple[str, ParamValue], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(name), item) for name, item in items if _scalar(item)))


@attrs.frozen
class EmbeddingIdentity:
    """An embedding model, as far as it decides the vectors.

    ``cls`` is the class path (``module.QualName``), ``model`` the model name (``None``
    when the class has none), ``params`` the other model-defining parameters (sorted
    ``(name, value)`` pairs; a mapping is accepted), ``dims`` the vector length when the
    object states it.

    Two identities are the same model (:meth:`matches`) when their class *names* agree
    (not the module: a class that moved between packages, e.g. ``langchain_community``
    to ``langchain_openai``, makes the same vectors), their model names agree, every
    parameter both record agrees (a parameter only one records, e.g. one a newer version
    reads, is not a difference) and their ``dims`` agree when both are known.
    """

    cls: str
    model: str | None = None
    params: tuple[tuple[str, ParamValue], ...] = attrs.field(default=(), converter=_params)
    dims: int | None = None

    @property
    def class_name(self) -> str:
        """The class name without its module: ``DeterministicFakeEmbedding``."""
        return self.cls.rsplit(".", 1)[-1]

    def matches(self, other: EmbeddingIdentity) -> bool:
        """Whether ``other`` makes the same vectors as this model (see the class doc)."""
        if self.class_name != other.class_name or self.model != other.model:
            return False
        if self.dims is not None and other.dims is not None and self.dims != other.dims:
            return False
        mine, theirs = dict(self.params), dict(other.params)
        return all(mine[name] == theirs[name] for name in mine.keys() & theirs.keys())

    def describe(self) -> str:
        """``DeterministicFakeEmbedding(size=256) [langchain_core...]``, for messages."""
        shown = [f"model={self.model!r}"] if self.model is not None else []
        shown += [f"{name}={value!r}" for name, value in self.params]
        if self.dims is not None and self.dims not in dict(self.params).values():
            shown.append(f"dims={self.dims}")
        return f"{self.class_name}({', '.join(shown)}) [{self.cls}]"

    def to_document(self) -> dict[str, Any]:
        """The JSON object recorded in the index (``_meta``)."""
        return {
            "class": self.cls,
            "model": self.model,
            "params": dict(self.params),
            "dims": self.dims,
        }

    @classmethod
    def from_document(cls, document: Any) -> EmbeddingIdentity | None:
        """The identity recorded by :meth:`to_document`; ``None`` when ``document`` is not
        one (so an unreadable record is treated as none, never as a match)."""
        if not isinstance(document, Mapping):
            return None
        path, model = document.get("class"), document.get("model")
        params, dims = document.get("params") or {}, document.get("dims")
        if not isinstance(path, str) or not path or not isinstance(params, Mapping):
            return None
        if model is not None and not isinstance(model, str):
            return None
        if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int)):
            return None
        return cls(path, model, params, dims)


_INDEX_FIX = (
    "use the same embedding model as the index, or another index_name for this model (or "
    "delete the index so the cache creates it again)"
)


def embedding_mismatch(
    where: str, recorded: EmbeddingIdentity, given: EmbeddingIdentity, *, fix: str = _INDEX_FIX
) -> ConfigurationError:
    """The error for a model that is not the one ``where`` (``index 'x'``) was made with."""
    return ConfigurationError(
        f"{where} holds vectors of the embedding model {recorded.describe()}, but this cache "
        f"embeds with {given.describe()}: vectors of different models cannot be compared "
        f"(even of the same length), so nothing was searched or written; {fix}"
    )
