"""LangChain LLM and embeddings cache stored in Elasticsearch."""
