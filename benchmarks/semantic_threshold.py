"""How the default ``similarity_threshold`` was chosen: ``python -m benchmarks.semantic_threshold``.

25 hand-written paraphrase pairs (should hit) and 25 pairs of *different* questions on the
same topic (must not hit), embedded with WordLlama (offline, the ``[semantic]`` extra).
For each threshold: how many paraphrases hit, how many different questions would. A
quick measurement to pick a default, not a calibration: run it with your own embedding
model and pairs from your traffic before trusting any threshold.

Result (WordLlama l2_supercat, 256 dims): different pairs score up to 0.872 ("population
of Tokyo" / "area of Tokyo"), paraphrases 0.63 to 0.98; at 0.9, 5 of 25 paraphrases hit
and no different pair does, at 0.88, 9 and none (a margin of 0.008). The default is 0.9.
"""

from __future__ import annotations

import math

from langchain_elasticsearch_cache.interfaces.langchain.wordllama import WordLlamaEmbeddings

PARAPHRASES = [
    ("What is the capital of France?", "Which city is the capital of France?"),
    ("How do I reverse a list in Python?", "What's the way to reverse a Python list?"),
    ("What is a cache?", "Can you explain what a cache is?"),
    ("How tall is Mount Everest?", "What is the height of Mount Everest?"),
    ("Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"),
    ("How do I boil an egg?", "What's the best way to boil an egg?"),
    ("What causes rain?", "Why does it rain?"),
    ("Translate hello into Spanish", "How do you say hello in Spanish?"),
    ("What is the speed of light?", "How fast does light travel?"),
    ("How can I improve my sleep?", "What are ways to sleep better?"),
    ("What is machine learning?", "Explain machine learning to me"),
    ("How do I install numpy?", "How can I install the numpy package?"),
    ("What is the boiling point of water?", "At what temperature does water boil?"),
    ("Recommend a good science fiction book", "Can you suggest a good sci-fi novel?"),
    ("How do vaccines work?", "Explain how vaccines work"),
    ("What is the population of Tokyo?", "How many people live in Tokyo?"),
    ("Why is the sky blue?", "What makes the sky blue?"),
    ("How do I make a cup of tea?", "What is the way to prepare tea?"),
    ("What does HTTP stand for?", "What is HTTP short for?"),
    ("How do I delete a git branch?", "How can I remove a branch in git?"),
    ("What is Elasticsearch?", "Tell me what Elasticsearch is"),
    ("Who painted the Mona Lisa?", "Which artist painted the Mona Lisa?"),
    ("When did World War II end?", "In what year did the Second World War end?"),
    ("How do I center a div in CSS?", "How can I center a div with CSS?"),
    ("What is photosynthesis?", "Explain photosynthesis"),
]
DIFFERENT = [
    ("What is the capital of France?", "What is the capital of Germany?"),
    ("How do I reverse a list in Python?", "How do I sort a list in Python?"),
    ("What is a cache?", "What is a database index?"),
    ("How tall is Mount Everest?", "How deep is the Mariana Trench?"),
    ("Who wrote Pride and Prejudice?", "Who wrote War and Peace?"),
    ("How do I boil an egg?", "How do I fry an egg?"),
    ("What causes rain?", "What causes earthquakes?"),
    ("Translate hello into Spanish", "Translate hello into German"),
    ("What is the speed of light?", "What is the speed of sound?"),
    ("How can I improve my sleep?", "How can I improve my diet?"),
    ("What is machine learning?", "What is quantum computing?"),
    ("How do I install numpy?", "How do I uninstall numpy?"),
    ("What is the boiling point of water?", "What is the freezing point of water?"),
    ("Recommend a good science fiction book", "Recommend a good horror movie"),
    ("How do vaccines work?", "How do antibiotics work?"),
    ("What is the population of Tokyo?", "What is the area of Tokyo?"),
    ("Why is the sky blue?", "Why is the grass green?"),
    ("How do I make a cup of tea?", "How do I make a cup of coffee?"),
    ("What does HTTP stand for?", "What does DNS stand for?"),
    ("How do I delete a git branch?", "How do I create a git branch?"),
    ("What is Elasticsearch?", "What is PostgreSQL?"),
    ("Who painted the Mona Lisa?", "Who sculpted David?"),
    ("When did World War II end?", "When did World War I begin?"),
    ("How do I center a div in CSS?", "How do I bake sourdough bread?"),
    ("What is photosynthesis?", "What is the stock market?"),
]


def _cosine(x: list[float], y: list[float]) -> float:
    dot = sum(p * q for p, q in zip(x, y, strict=True))
    return dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))


def main() -> None:
    model = WordLlamaEmbeddings()

    def similarities(pairs: list[tuple[str, str]]) -> list[float]:
        return sorted(_cosine(model.embed_query(a), model.embed_query(b)) for a, b in pairs)

    same, different = similarities(PARAPHRASES), similarities(DIFFERENT)
    print("paraphrases:", " ".join(f"{s:.3f}" for s in same))
    print("different:  ", " ".join(f"{s:.3f}" for s in different))
    for threshold in (0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.95):
        hits = sum(s >= threshold for s in same)
        wrong = sum(s >= threshold for s in different)
        print(
            f"threshold {threshold:.2f}: {hits}/{len(same)} paraphrases hit, "
            f"{wrong}/{len(different)} different questions would"
        )


if __name__ == "__main__":
    main()
