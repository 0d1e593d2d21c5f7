"""Elastic Cloud IDs, TLS error messages and test certificates: no network needed.

A Cloud ID is ``<deployment name>:<base64 of host[:port]$es-id$kibana-id>``; the cluster
is ``https://<es-id>.<host>:<port>`` (port 443 when none is given).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path

import pytest
from elastic_transport import TlsError

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    TlsVerificationError,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.errors import translate_error
from lecache_devtools.node import generate_tls_files


def _cloud_id(name: str, decoded: str) -> str:
    return f"{name}:{base64.b64encode(decoded.encode()).decode()}"


def _hosts(client: object) -> list[tuple[str, str, int]]:
    nodes = client.transport.node_pool.all()  # type: ignore[attr-defined]
    return [(node.config.scheme, node.config.host, node.config.port) for node in nodes]


@pytest.mark.parametrize(
    ("decoded", "expected"),
    [
        ("us-east-1.aws.found.io$abc123$kib456", ("https", "abc123.us-east-1.aws.found.io", 443)),
        ("eu-west-1.aws.found.io:9243$abc$kib", ("https", "abc.eu-west-1.aws.found.io", 9243)),
        (
            "europe-west1.gcp.cloud.es.io$deadbeef",
            ("https", "deadbeef.europe-west1.gcp.cloud.es.io", 443),
        ),
    ],
)
def test_a_well_formed_cloud_id_gives_the_cluster_host(
    decoded: str, expected: tuple[str, str, int]
) -> None:
    cloud_id = _cloud_id("my-deployment", decoded)
    client = create_elasticsearch_client(cloud_id=cloud_id, api_key="not-used", check=False)
    try:
        assert _hosts(client) == [expected]
    finally:
        client.close()
    async_client = create_async_elasticsearch_client(cloud_id=cloud_id, api_key="not-used")
    try:
        assert _hosts(async_client) == [expected]
    finally:
        asyncio.run(async_client.close())


@pytest.mark.parametrize(
    ("cloud_id", "problem"),
    [
        ("just-a-name", "no ':' followed by the encoded part"),
        ("name:", "no ':' followed by the encoded part"),
        ("name:%%%not base64%%%", "not base64"),
        (_cloud_id("name", "host-without-ids"), "names no Elasticsearch cluster"),
        (_cloud_id("name", "host:not-a-port$abc$def"), "not base64"),
        ("name:\udc80", "not base64"),
        ("name:ü-not-ascii", "not base64"),
    ],
)
def test_a_malformed_cloud_id_is_refused_before_any_request(cloud_id: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        create_elasticsearch_client(cloud_id=cloud_id)  # check=True: would call info()
    message = str(refused.value)
    assert message.startswith("es_cloud_id is not a valid Elastic Cloud ID")
    assert problem in message
    assert "Elastic Cloud console" in message  # where to get a good one
    for build in (ElasticsearchCache, ElasticsearchEmbeddingsCache, AsyncElasticsearchCache):
        with pytest.raises(ConfigurationError, match="not a valid Elastic Cloud ID"):
            build("llm-cache", es_cloud_id=cloud_id)


def test_a_cloud_id_that_is_not_a_string() -> None:
    with pytest.raises(ConfigurationError, match="must be a string, not int"):
        create_elasticsearch_client(cloud_id=12345)  # type: ignore[arg-type]


def test_cloud_id_and_url_are_exclusive() -> None:
    cloud_id = _cloud_id("name", "host$abc$def")
    with pytest.raises(ConfigurationError, match="give only one"):
        ElasticsearchCache("llm-cache", es_url="http://localhost:9200", es_cloud_id=cloud_id)


def test_a_tls_failure_names_the_reason_and_the_fix() -> None:
    verify = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    verify.verify_message = "self-signed certificate"
    error = translate_error(TlsError(str(verify), errors=(verify,)), "connecting")
    assert isinstance(error, TlsVerificationError)
    assert "certificate verify failed: self-signed certificate" in str(error)
    assert "ca_certs=" in str(error)

    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    plain.reason = "WRONG_VERSION_NUMBER"
    error = translate_error(TlsError(str(plain), errors=(plain,)), "connecting")
    assert "wrong version number" in str(error) and "use http://" in str(error)


def test_generated_certificates_name_localhost_and_127_0_0_1(tmp_path: Path) -> None:
    """The openssl path of generate_tls_files (the node itself uses certutil)."""
    files = generate_tls_files(tmp_path)
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.cert), str(files.key))  # the key matches
    decoded = ssl._ssl._test_decode_cert(str(files.cert))  # type: ignore[attr-defined]
    assert set(decoded["subjectAltName"]) == {("IP Address", "127.0.0.1"), ("DNS", "localhost")}
    issuer = dict(item[0] for item in decoded["issuer"])
    assert issuer["commonName"] == "langchain-elasticsearch-cache test CA"
