"""Deterministic embedding factories for the ``calibrate`` command's tests.

``--embedding tests.fake_embeddings:table`` gives vectors from :data:`TABLE`, chosen so the
cosine of each test pair is a fraction worked out by hand: every first prompt is (1, 0) and
the second one's vector sets the similarity (e.g. (24, 7) -> 24/25 = 0.96). A text not in
the table (a serialised chat prompt, when ``--no-split`` embeds it whole) is (1, 1), so two
such prompts are identical to the model: what a shared system prompt does to real models.
"""

from __future__ import annotations

import hashlib

from langchain_core.embeddings import Embeddings

FIRST = (1.0, 0.0)
UNKNOWN = (1.0, 1.0)

TABLE: dict[str, tuple[float, float]] = {
    "What is the capital of France?": FIRST,
    "Which city is the capital of France?": (24.0, 7.0),  # 24/25 = 0.96
    "How do I boil an egg?": FIRST,
    "how to boil egg": (12.0, 5.0),  # 12/13 = 0.923
    "Why is the sky blue?": FIRST,
    "What makes the sky blue?": (4.0, 3.0),  # 4/5 = 0.8
    "Is Paris bigger than Lyon?": FIRST,
    "Is Lyon bigger than Paris?": (15.0, 8.0),  # 15/17 = 0.882
    "What is 17 times 23?": FIRST,
    "What is 17 times 24?": FIRST,  # 1.0: only the number guard keeps it out
    "How do I open an account?": FIRST,
    "How do I close an account?": (3.0, 4.0),  # 3/5 = 0.6
    # wrong answers the default hit guard cannot see (another question on the same topic)
    "Is Paris older than Lyon?": (15.0, 8.0),  # 15/17 = 0.882
    "How do I change my card PIN?": (3.0, 4.0),  # 3/5 = 0.6
}


class TableEmbeddings(Embeddings):
    """Vectors looked up in :data:`TABLE`; counts the texts it embedded."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return [list(TABLE.get(text, UNKNOWN)) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class HashedEmbeddings(Embeddings):
    """A bag of hashed words (16 dimensions): deterministic, for any text, and crude."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            vector = [0.0] * 16
            for word in text.lower().split():
                digest = hashlib.sha256(word.encode("utf-8")).digest()
                vector[digest[0] % 16] += 1.0 + digest[1] / 255
            vector[0] += 0.01  # never all zero
            vectors.append(vector)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class FailingEmbeddings(Embeddings):
    """A model whose service is down."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise ConnectionError("embedding service unavailable")

    def embed_query(self, text: str) -> list[float]:
        raise ConnectionError("embedding service unavailable")


def table() -> TableEmbeddings:
    return TableEmbeddings()


def hashed() -> HashedEmbeddings:
    return HashedEmbeddings()


def failing() -> FailingEmbeddings:
    return FailingEmbeddings()


def needs_a_key() -> Embeddings:
    raise RuntimeError("set MY_API_KEY first")


def not_embeddings() -> str:
    return "not a model"


NOT_CALLABLE = 42
