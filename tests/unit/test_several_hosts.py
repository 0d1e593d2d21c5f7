"""``es_url`` takes several hosts: a list in Python, a comma-separated list on the command
line and in ``ES_URL``. The client built knows every node; bad lists are refused with the
fix; an unreachable cluster names the nodes tried and, with one node, says how to list
several. Refused connections are real (closed loopback ports), not mocked."""

from __future__ import annotations

import argparse
import base64
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from langchain_elasticsearch_cache import (
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
    BackendUnavailableError,
    ConfigurationError,
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
)
from langchain_elasticsearch_cache.adapters.elasticsearch import (
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.client import host_urls
from langchain_elasticsearch_cache.adapters.elasticsearch.errors import describe_hosts
from langchain_elasticsearch_cache.interfaces import cli

from .test_given_client import closed_port_url

URLS = ["http://node1:9200", "http://node2:9201", "https://node3:9243"]
CLASSES = [
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    AsyncElasticsearchCache,
    AsyncElasticsearchEmbeddingsCache,
]


def _hosts(client: Any) -> list[str]:
    return sorted(
        f"{node.config.scheme}://{node.config.host}:{node.config.port}"
        for node in client.transport.node_pool.all()
    )


def test_the_client_knows_every_node_of_a_list() -> None:
    client = create_elasticsearch_client(URLS, check=False)
    try:
        assert _hosts(client) == sorted(URLS)
        assert describe_hosts(client) == ", ".join(sorted(URLS))
    finally:
        client.close()


async def test_the_async_client_knows_every_node_of_a_list() -> None:
    client = create_async_elasticsearch_client(tuple(URLS))
    try:
        assert _hosts(client) == sorted(URLS)
    finally:
        await client.close()


def test_a_timeout_is_retried_on_another_node_only_when_there_is_one() -> None:
    several = create_elasticsearch_client(URLS, check=False)
    one = create_elasticsearch_client(URLS[0], check=False)
    chosen = create_elasticsearch_client(URLS, check=False, retry_on_timeout=False)
    try:
        # what the client sends with every request (the transport's own default is False)
        assert several._retry_on_timeout is True
        assert one._retry_on_timeout is not True
        assert chosen._retry_on_timeout is False
    finally:
        for client in (several, one, chosen):
            client.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ([], "es_url is an empty list: give the URL of at least one node"),
        (["http://node1:9200", "node2:9200"], r"es_url item 1 'node2:9200' is not a URL"),
        (["http://node1:9200", 9200], "es_url item 1 int is not a URL"),
        ("localhost:9200", r"es_url 'localhost:9200' is not a URL"),
        (9200, "es_url must be a URL or a list of URLs, not int"),
        ("http://a:9200,http://b:9200", "holds several URLs in one string: pass a list"),
    ],
)
def test_bad_hosts_are_refused_with_the_fix(url: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        host_urls(url)
    with pytest.raises(ConfigurationError, match=message):
        create_elasticsearch_client(url, check=False)


@pytest.mark.parametrize("cls", CLASSES)
def test_every_class_refuses_an_empty_list_before_connecting(cls: type) -> None:
    with pytest.raises(ConfigurationError, match="empty list"):
        cls("llm-cache", es_url=[])


def test_credentials_in_a_refused_item_are_not_shown() -> None:
    with pytest.raises(ConfigurationError) as raised:
        host_urls(["http://node1:9200", "user:s3cret@node2"])
    assert "s3cret" not in str(raised.value)


def test_an_unreachable_list_names_every_node_tried() -> None:
    urls = [closed_port_url(), closed_port_url()]
    with pytest.raises(BackendUnavailableError) as raised:
        ElasticsearchCache("llm-cache", es_url=urls, max_retries=2)
    text = str(raised.value)
    assert "any of its 2 nodes" in text and "tries the next node on each" in text
    for url in urls:
        assert url in text
    assert "list several nodes" not in text  # they were listed


def test_one_unreachable_url_suggests_listing_several() -> None:
    url = closed_port_url()
    with pytest.raises(BackendUnavailableError) as raised:
        ElasticsearchEmbeddingsCache("emb-cache", es_url=url, max_retries=0)
    text = str(raised.value)
    assert url in text and "connection refused" in text
    assert "list several nodes" in text
    assert "es_url=['http://node1:9200'" in text


def test_an_elastic_cloud_endpoint_is_not_told_to_list_nodes() -> None:
    """A Cloud ID names one load-balanced endpoint: listing nodes is no advice there."""
    cloud_id = "test:" + base64.b64encode(f"{closed_port_url()[7:]}$es$kb".encode()).decode()
    with pytest.raises(BackendUnavailableError) as raised:
        ElasticsearchCache("llm-cache", es_cloud_id=cloud_id, max_retries=0)
    assert "es_cloud_id" in str(raised.value)
    assert "list several nodes" not in str(raised.value)


def test_a_given_single_node_client_is_told_to_list_nodes_on_the_client() -> None:
    with Elasticsearch(closed_port_url(), max_retries=0) as client:
        cache = ElasticsearchCache("llm-cache", client=client)
        with pytest.raises(BackendUnavailableError) as raised:
            cache.lookup("p", "l")
    text = str(raised.value)
    assert "give the client every node's URL" in text
    assert "es_url" not in text


def test_an_empty_string_item_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"es_url item 1 '' is not a URL"):
        host_urls(["http://node1:9200", ""])


# ----------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("http://a:9200", "http://a:9200"),
        ("http://a:9200,http://b:9200", ["http://a:9200", "http://b:9200"]),
        (
            " http://a:9200 , http://b:9200 ,http://c:9200",
            ["http://a:9200", "http://b:9200", "http://c:9200"],
        ),
    ],
)
def test_es_url_flag_splits_on_commas(text: str | None, expected: Any) -> None:
    assert cli.split_hosts(text) == expected


@pytest.mark.parametrize("text", ["http://a:9200,,http://b:9200", "http://a:9200,"])
def test_an_empty_item_is_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="empty item"):
        cli.split_hosts(text)


def test_es_url_environment_variable_reaches_the_client_as_a_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ES_URL", "http://a:9200,http://b:9200")
    args = cli.build_parser().parse_args(["stats", "llm-cache"])
    assert isinstance(args, argparse.Namespace)
    assert cli._client_connection(args)["url"] == ["http://a:9200", "http://b:9200"]
    assert cli._cache_connection(args)["es_url"] == ["http://a:9200", "http://b:9200"]


@pytest.mark.usefixtures("cli_logging_restored")
def test_cli_with_an_unreachable_list_exits_3_naming_the_nodes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    urls = [closed_port_url(), closed_port_url()]
    code = cli.main(["stats", "llm-cache", "--es-url", ",".join(urls)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_UNAVAILABLE, err
    assert "any of its 2 nodes" in err
    for url in urls:
        assert url in err


@pytest.mark.usefixtures("cli_logging_restored")
def test_cli_with_an_empty_item_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["stats", "llm-cache", "--es-url", "http://a:9200,,http://b:9200"])
    assert code == cli.EXIT_USAGE
    assert "empty item" in capsys.readouterr().err
