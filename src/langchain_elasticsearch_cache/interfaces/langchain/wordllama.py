"""A LangChain ``Embeddings`` over WordLlama: a small embedding model that runs offline.

``wordllama`` ships its weights and tokenizer in its PyPI wheel, so it needs no download,
no GPU and no API key: the demo and the tests use it as a *real* embedding model. It is
an optional dependency (``pip install 'langchain-elasticsearch-cache[semantic]'``),
imported only when this class is created.

It is small and fast rather than accurate: fine for the demo, tests and a first try; use
your production embedding model for a production cache (and calibrate the threshold for it).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ...domain.errors import ConfigurationError

__all__ = ["WordLlamaEmbeddings", "load_wordllama"]

_INSTALL_HINT = "pip install 'langchain-elasticsearch-cache[semantic]' (or pip install wordllama)"
_LOCK = threading.Lock()
_MODELS: dict[tuple[str, int], Any] = {}


@contextlib.contextmanager
def _logging_left_alone() -> Iterator[None]:
    """Put the root logger's level and handlers back as they were.

    ``wordllama`` calls ``logging.basicConfig(level=logging.INFO)`` when its modules are
    imported: in a program that configured no logging, every library's INFO records
    (each Elasticsearch request, for one) would then be printed. A library must leave
    the logging configuration to the application.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


def load_wordllama(config: str = "l2_supercat", dim: int = 256) -> Any:
    """The WordLlama model from the files inside the installed wheel (never the network).

    ``WordLlama.load()`` otherwise fetches a tokenizer file it already has; pointing
    ``cache_dir`` at the package directory with downloads disabled finds everything there.
    Loaded once per process and configuration (about 30 MB of weights).
    """
    try:
        with _logging_left_alone():
            module = importlib.import_module("wordllama")
    except ImportError:
        raise ConfigurationError(
            f"WordLlamaEmbeddings needs the wordllama package, which is not installed: "
            f"{_INSTALL_HINT}"
        ) from None
    with _LOCK:
        model = _MODELS.get((config, dim))
        if model is None:
            with _logging_left_alone():
                model = module.WordLlama.load(
                    config=config,
                    dim=dim,
                    cache_dir=Path(str(module.__file__)).parent,
                    disable_download=True,
                )
            _MODELS[(config, dim)] = model
    return model


class WordLlamaEmbeddings(Embeddings):
    """``Embeddings`` computed by a local WordLlama model (256 dimensions by default),
    as unit-length vectors.

    ``config`` and ``dim`` say which model it is (the semantic index records them, see
    ``embedding_identity``); with a ``model`` object given, ``config`` is ``None`` (not
    known) unless :func:`load_wordllama` loaded it, and ``dim`` is the model's.
    """

    def __init__(self, model: Any = None, *, config: str = "l2_supercat", dim: int = 256):
        self.model = model if model is not None else load_wordllama(config, dim)
        self.config: str | None = config
        self.dim: int = dim
        if model is not None:
            # a model loaded by load_wordllama is known by its configuration
            with _LOCK:
                known = [key for key, loaded in _MODELS.items() if loaded is model]
            shape = getattr(getattr(model, "embedding", None), "shape", None)
            self.config, self.dim = known[0] if known else (None, int(shape[-1]) if shape else dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        # unit length (norm=True): cosine similarity is unchanged, and Elasticsearch 9.1+
        # gives a unit vector back exactly from the index, so the semantic index keeps no
        # second copy of it (about 1 KB instead of 2.4 KB per 256-dimension entry)
        rows = self.model.embed(list(texts), norm=True)
        return [[float(value) for value in row] for row in rows]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
