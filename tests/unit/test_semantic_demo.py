"""``demo --semantic``: the real offline embedding model answers a paraphrase from the cache."""

from __future__ import annotations

import pytest

from langchain_elasticsearch_cache.interfaces import cli

# cli.main() adds a handler on the (captured) stderr: taken away after each test
pytestmark = pytest.mark.usefixtures("cli_logging_restored")


def test_demo_semantic_in_memory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ES_URL", raising=False)
    monkeypatch.delenv("ES_CLOUD_ID", raising=False)
    assert cli.main(["demo", "--semantic"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    paraphrase = next(line for line in lines if "Who is the author" in line)
    assert "semantic hit, similarity 0.9" in paraphrase
    repeat = [line for line in lines if "'Who wrote Pride and Prejudice?'" in line]
    assert "model call (miss)" in repeat[0]
    assert "exact hit" in repeat[1]
    other_number = next(line for line in lines if "'Convert 200 dollars" in line)
    assert "model call (miss)" in other_number
    assert "model calls: 3 for 5 questions" in out
    assert "1 exact hit(s), 1 semantic hit(s), 3 miss(es), 4 embedding call(s)" in out
