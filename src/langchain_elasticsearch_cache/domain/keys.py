"""Key schemes: how a cache lookup becomes a document id.

A document ``_id`` is at most 512 bytes in Elasticsearch, so keys are fixed-length hex
digests. Every Python ``str`` must produce a key, lone surrogates included, so text is
encoded with ``surrogatepass``: for any string that is valid Unicode this is plain UTF-8,
and for the rest it is still an injective encoding.
"""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

import attrs


def encode_text(text: str) -> bytes:
    """UTF-8 for every ``str``, lone surrogates included (injective)."""
    return text.encode("utf-8", "surrogatepass")


@runtime_checkable
class KeyScheme(Protocol):
    """Turns cache inputs into document ids."""

    @property
    def name(self) -> str: ...

    def llm_key(self, prompt: str, llm_string: str) -> str:
        """Key of the LLM cache entry for ``(prompt, llm_string)``."""
        ...

    def embedding_key(self, key: str, namespace: str | None) -> str:
        """Key of the byte-store entry for ``key`` in ``namespace``."""
        ...


def frame(*parts: bytes) -> bytes:
    """Length-prefix every part so that no two distinct tuples share a byte string.

    Shared with the semantic cache's partition hashes (``semantic.splitting``).
    """
    out = bytearray()
    for part in parts:
        out += len(part).to_bytes(8, "big")
        out += part
    return bytes(out)


@attrs.frozen
class Sha256KeyScheme:
    """The default scheme: SHA-256 over a length-prefixed framing of the inputs.

    Because each part is prefixed by its length, ``("ab", "c")`` and ``("a", "bc")``
    hash different byte strings, unlike plain concatenation. The LLM and embedding
    keys are domain-separated by a tag (the caches still need an index each: an index
    holding one kind is refused by the other, whose ``clear()`` would delete it).

    Attributes:
        name: The scheme's name and version (``"sha256-v1"``), shown in a cache's repr.
    """

    name: str = "sha256-v1"

    def llm_key(self, prompt: str, llm_string: str) -> str:
        framed = frame(b"llm", encode_text(prompt), encode_text(llm_string))
        return hashlib.sha256(framed).hexdigest()

    def embedding_key(self, key: str, namespace: str | None) -> str:
        # None and "" are distinct namespaces: a marker byte says which one it is.
        ns = b"\x00" if namespace is None else b"\x01" + encode_text(namespace)
        framed = frame(b"emb", ns, encode_text(key))
        return hashlib.sha256(framed).hexdigest()


@attrs.frozen
class LegacyMd5KeyScheme:
    """The keys ``langchain_elasticsearch`` 1.0.0 writes, so its indices stay readable.

    ``md5(prompt + llm_string)`` for the LLM cache and ``md5((namespace or "") + key)``
    for embeddings. Concatenation collides (``("ab", "c")`` and ``("a", "bc")`` share a
    key): use it only to share an index with that library.

    Attributes:
        name: The scheme's name (``"legacy-md5"``), shown in a cache's repr.
    """

    name: str = "legacy-md5"

    def llm_key(self, prompt: str, llm_string: str) -> str:
        return hashlib.md5(encode_text(prompt + llm_string)).hexdigest()

    def embedding_key(self, key: str, namespace: str | None) -> str:
        return hashlib.md5(encode_text((namespace or "") + key)).hexdigest()


DEFAULT_KEY_SCHEME: KeyScheme = Sha256KeyScheme()

_SCHEMES: dict[str, KeyScheme] = {
    "sha256": Sha256KeyScheme(),
    "sha256-v1": Sha256KeyScheme(),
    "legacy": LegacyMd5KeyScheme(),
    "legacy-md5": LegacyMd5KeyScheme(),
}


def resolve_key_scheme(scheme: KeyScheme | str | None) -> KeyScheme:
    """Accept a scheme object or one of the names ``"sha256"`` / ``"legacy"``."""
    if scheme is None:
        return DEFAULT_KEY_SCHEME
    if isinstance(scheme, str):
        try:
            return _SCHEMES[scheme]
        except KeyError:
            from .errors import ConfigurationError

            raise ConfigurationError(
                f"unknown key scheme {scheme!r}: use one of {sorted(_SCHEMES)} "
                "or pass a KeyScheme object"
            ) from None
    if not isinstance(scheme, KeyScheme):
        from .errors import ConfigurationError

        raise ConfigurationError(
            f"key_scheme must be a KeyScheme or a name, not {type(scheme).__name__}"
        )
    return scheme
