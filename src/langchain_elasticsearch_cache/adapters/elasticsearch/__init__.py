"""The Elasticsearch adapter: repositories (async source, generated sync twin), client
factories, mappings and error translation."""

from ._async.repository import AsyncElasticsearchRepository
from ._async.vector_repository import DEFAULT_NUM_CANDIDATES, AsyncElasticsearchVectorRepository
from ._sync.repository import ElasticsearchRepository
from ._sync.vector_repository import ElasticsearchVectorRepository
from .checked import ConnectionCheckedRepository, ConnectionCheckedVectorRepository
from .client import (
    USER_AGENT,
    check_connection,
    create_async_elasticsearch_client,
    create_elasticsearch_client,
)
from .errors import BulkBackendUnavailableError, translate_error, translated
from .mappings import (
    EMBEDDING_PROPERTIES,
    EMBEDDING_RECORDS,
    LLM_PROPERTIES,
    LLM_RECORDS,
    SEMANTIC_INDEX_SETTINGS,
    SEMANTIC_PROPERTIES,
    SEMANTIC_RECORDS,
    RecordKind,
    validate_index_name,
)

__all__ = [
    "DEFAULT_NUM_CANDIDATES",
    "EMBEDDING_PROPERTIES",
    "EMBEDDING_RECORDS",
    "LLM_PROPERTIES",
    "LLM_RECORDS",
    "SEMANTIC_INDEX_SETTINGS",
    "SEMANTIC_PROPERTIES",
    "SEMANTIC_RECORDS",
    "USER_AGENT",
    "AsyncElasticsearchRepository",
    "AsyncElasticsearchVectorRepository",
    "BulkBackendUnavailableError",
    "ConnectionCheckedRepository",
    "ConnectionCheckedVectorRepository",
    "ElasticsearchRepository",
    "ElasticsearchVectorRepository",
    "RecordKind",
    "check_connection",
    "create_async_elasticsearch_client",
    "create_elasticsearch_client",
    "translate_error",
    "translated",
    "validate_index_name",
]
