"""Property tests of the key schemes: deterministic, injective, total, seed-compatible."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from langchain_elasticsearch._async.cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch._sync.cache import (
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)

from langchain_elasticsearch_cache.domain import (
    ConfigurationError,
    KeyScheme,
    LegacyMd5KeyScheme,
    Sha256KeyScheme,
    resolve_key_scheme,
)

ANY_CHAR = st.characters(codec=None, exclude_categories=()) | st.characters(categories=["Cs"])
ANY_TEXT = st.text(alphabet=ANY_CHAR)
VALID_TEXT = st.text()  # hypothesis' default alphabet has no surrogates
NAMESPACES = st.none() | ANY_TEXT

SHA256 = Sha256KeyScheme()
LEGACY = LegacyMd5KeyScheme()
HEX64 = re.compile(r"[0-9a-f]{64}")
HEX32 = re.compile(r"[0-9a-f]{32}")


def _seed_embedding_key(namespace: str | None, key: str, async_class: bool = True) -> str:
    """The seed's own ``_key`` method, on a stand-in ``self`` (no client needed)."""
    cls = AsyncElasticsearchEmbeddingsCache if async_class else ElasticsearchEmbeddingsCache
    return str(cls._key(SimpleNamespace(_namespace=namespace), key))  # type: ignore[arg-type]


# --- totality and determinism -----------------------------------------------------------


@given(ANY_TEXT, ANY_TEXT)
def test_sha256_llm_key_is_total_and_deterministic(prompt: str, llm_string: str) -> None:
    key = SHA256.llm_key(prompt, llm_string)
    assert HEX64.fullmatch(key)
    assert key == Sha256KeyScheme().llm_key(prompt, llm_string)
    assert key == resolve_key_scheme("sha256").llm_key(prompt, llm_string)


@given(ANY_TEXT, NAMESPACES)
def test_sha256_embedding_key_is_total_and_deterministic(key: str, namespace: str | None) -> None:
    doc_id = SHA256.embedding_key(key, namespace)
    assert HEX64.fullmatch(doc_id)
    assert doc_id == Sha256KeyScheme().embedding_key(key, namespace)


@given(ANY_TEXT, ANY_TEXT, NAMESPACES)
def test_legacy_keys_are_total(prompt: str, llm_string: str, namespace: str | None) -> None:
    """Lone surrogates make the seed raise UnicodeEncodeError; the legacy scheme copes."""
    assert HEX32.fullmatch(LEGACY.llm_key(prompt, llm_string))
    assert HEX32.fullmatch(LEGACY.embedding_key(prompt, namespace))


def test_lone_surrogates_get_distinct_keys_where_the_seed_raises() -> None:
    with pytest.raises(UnicodeEncodeError):
        AsyncElasticsearchCache._key("\ud800", "")
    keys = {
        scheme.llm_key(prompt, "llm")
        for scheme in (SHA256, LEGACY)
        for prompt in ("\ud800", "\udc00", "\ud800\udc00", "\U00010000")
    }
    assert len(keys) == 8


# --- injectivity ------------------------------------------------------------------------


@given(ANY_TEXT, ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_sha256_llm_keys_of_distinct_pairs_differ(p1: str, l1: str, p2: str, l2: str) -> None:
    assume((p1, l1) != (p2, l2))
    assert SHA256.llm_key(p1, l1) != SHA256.llm_key(p2, l2)


@given(ANY_TEXT, st.data())
def test_sha256_keys_separate_every_split_of_the_same_concatenation(
    whole: str, data: st.DataObject
) -> None:
    """The pairs plain concatenation confuses are exactly the ones to check."""
    i = data.draw(st.integers(0, len(whole)))
    j = data.draw(st.integers(0, len(whole)))
    assume(i != j)
    first, second = (whole[:i], whole[i:]), (whole[:j], whole[j:])
    assert SHA256.llm_key(*first) != SHA256.llm_key(*second)
    assert LEGACY.llm_key(*first) == LEGACY.llm_key(*second)
    # the byte-store keys of (namespace, key) splits too
    assert SHA256.embedding_key(first[1], first[0]) != SHA256.embedding_key(second[1], second[0])
    assert LEGACY.embedding_key(first[1], first[0]) == LEGACY.embedding_key(second[1], second[0])


@given(ANY_TEXT, NAMESPACES, ANY_TEXT, NAMESPACES)
def test_sha256_embedding_keys_of_distinct_pairs_differ(
    k1: str, ns1: str | None, k2: str, ns2: str | None
) -> None:
    assume((k1, ns1) != (k2, ns2))
    assert SHA256.embedding_key(k1, ns1) != SHA256.embedding_key(k2, ns2)


@given(ANY_TEXT)
def test_sha256_none_and_empty_namespace_are_distinct(key: str) -> None:
    assert SHA256.embedding_key(key, None) != SHA256.embedding_key(key, "")
    # the seed (and so the legacy scheme) treats them alike
    assert LEGACY.embedding_key(key, None) == LEGACY.embedding_key(key, "")


@given(ANY_TEXT, ANY_TEXT, NAMESPACES)
def test_sha256_llm_and_embedding_keys_are_domain_separated(
    a: str, b: str, namespace: str | None
) -> None:
    assert SHA256.llm_key(a, b) != SHA256.embedding_key(b, namespace)
    assert SHA256.llm_key(a, b) != SHA256.embedding_key(a + b, namespace)


def test_explicit_concatenation_collision() -> None:
    assert LEGACY.llm_key("ab", "c") == LEGACY.llm_key("a", "bc")
    assert SHA256.llm_key("ab", "c") != SHA256.llm_key("a", "bc")
    assert LEGACY.embedding_key("c", "ab") == LEGACY.embedding_key("bc", "a")
    assert SHA256.embedding_key("c", "ab") != SHA256.embedding_key("bc", "a")
    # and the seed itself collides
    assert AsyncElasticsearchCache._key("ab", "c") == AsyncElasticsearchCache._key("a", "bc")


# --- compatibility with the seed --------------------------------------------------------


@given(VALID_TEXT, VALID_TEXT)
def test_legacy_llm_key_is_the_seeds(prompt: str, llm_string: str) -> None:
    expected = hashlib.md5((prompt + llm_string).encode()).hexdigest()
    assert LEGACY.llm_key(prompt, llm_string) == expected
    assert AsyncElasticsearchCache._key(prompt, llm_string) == expected
    assert ElasticsearchCache._key(prompt, llm_string) == expected


@given(VALID_TEXT, st.none() | VALID_TEXT)
def test_legacy_embedding_key_is_the_seeds(key: str, namespace: str | None) -> None:
    expected = hashlib.md5(((namespace or "") + key).encode()).hexdigest()
    assert LEGACY.embedding_key(key, namespace) == expected
    assert _seed_embedding_key(namespace, key) == expected
    assert _seed_embedding_key(namespace, key, async_class=False) == expected


def test_legacy_known_vector() -> None:
    assert LEGACY.llm_key("", "") == "d41d8cd98f00b204e9800998ecf8427e"
    assert LEGACY.llm_key("hello", "") == "5d41402abc4b2a76b9719d911017c592"


# --- scheme resolution ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, Sha256KeyScheme),
        ("sha256", Sha256KeyScheme),
        ("sha256-v1", Sha256KeyScheme),
        ("legacy", LegacyMd5KeyScheme),
        ("legacy-md5", LegacyMd5KeyScheme),
    ],
)
def test_resolve_key_scheme_by_name(name: str | None, expected: type) -> None:
    scheme = resolve_key_scheme(name)
    assert isinstance(scheme, expected)
    assert isinstance(scheme, KeyScheme)


def test_resolve_key_scheme_passes_objects_through_and_rejects_others() -> None:
    custom = LegacyMd5KeyScheme()
    assert resolve_key_scheme(custom) is custom
    with pytest.raises(ConfigurationError, match="unknown key scheme"):
        resolve_key_scheme("md5")
    with pytest.raises(ConfigurationError, match="KeyScheme"):
        resolve_key_scheme(42)  # type: ignore[arg-type]
