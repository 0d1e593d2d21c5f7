"""DESIGN part of the verified-cache benchmark data.

Written after the held-out part (:mod:`.heldout`) was committed, with no topic in common
with it. The only part run while the benchmark was designed (stream sizes, popularity,
threshold grid, quick mode); its figures are reported too, but the held-out ones are the
ones to trust.
"""

from __future__ import annotations

from . import Group, check, group, templated, unrelated

_NEAR: list[Group] = [
    *templated(
        "capital",
        "entity",
        [
            "What is the capital of {x}?",
            "Which city is the capital of {x}?",
            "Name the capital city of {x}",
            "What city serves as {x}'s capital?",
        ],
        [{"x": "Peru"}, {"x": "Chile"}, {"x": "Kenya"}, {"x": "Norway"}, {"x": "Vietnam"}],
    ),
    *templated(
        "moons",
        "entity",
        [
            "How many moons does {x} have?",
            "What is the number of moons orbiting {x}?",
            "How many natural satellites does {x} have?",
            "Count of {x}'s moons?",
        ],
        [{"x": "Mars"}, {"x": "Jupiter"}, {"x": "Neptune"}, {"x": "Uranus"}],
    ),
    *templated(
        "sum",
        "number",
        [
            "What is {a} plus {b}?",
            "Add {a} and {b}",
            "What do {a} and {b} add up to?",
            "Compute the sum of {a} and {b}",
        ],
        [{"a": "17", "b": "25"}, {"a": "17", "b": "26"}, {"a": "40", "b": "25"}],
    ),
    *templated(
        "seconds",
        "number",
        [
            "How many seconds are in {n} days?",
            "Convert {n} days to seconds",
            "{n} days equals how many seconds?",
        ],
        [{"n": "2"}, {"n": "7"}, {"n": "30"}],
    ),
    group(
        "tokyo/population",
        "What is the population of Tokyo?",
        "How many people live in Tokyo?",
        "How many inhabitants does Tokyo have?",
        "Tokyo's population size?",
        family="tokyo",
        variation="attribute",
    ),
    group(
        "tokyo/area",
        "What is the area of Tokyo?",
        "How big is Tokyo in square kilometres?",
        "How much land does Tokyo cover?",
        "What's the surface area of Tokyo?",
        family="tokyo",
        variation="attribute",
    ),
    group(
        "tokyo/founded",
        "When was Tokyo founded?",
        "In what year was Tokyo established?",
        "How old is the city of Tokyo?",
        "When did Tokyo become a city?",
        family="tokyo",
        variation="attribute",
    ),
    *templated(
        "package",
        "opposite",
        [
            "How do I {v} a package with pip?",
            "What's the pip command to {v} a package?",
            "Using pip, how can I {v} a Python package?",
            "pip: {v} a library",
        ],
        [{"v": "install"}, {"v": "uninstall"}, {"v": "upgrade"}],
    ),
    *templated(
        "nocturnal",
        "negation",
        [
            "Which animals are {neg}nocturnal?",
            "List animals that are {neg}active at night",
            "Name some animals that {do} sleep during the day",
            "What animals {do} come out at night?",
        ],
        [{"neg": "", "do": "do"}, {"neg": "not ", "do": "don't"}],
    ),
    *templated(
        "distance",
        "direction",
        [
            "How do I convert {a} to {b}?",
            "What's the conversion from {a} into {b}?",
            "Change a distance in {a} to {b}",
            "Formula for turning {a} into {b}",
        ],
        [
            {"a": "kilometres", "b": "miles"},
            {"a": "miles", "b": "kilometres"},
            {"a": "metres", "b": "feet"},
        ],
    ),
    *templated(
        "novel",
        "entity",
        [
            "Who wrote the novel {x}?",
            "Who is the author of {x}?",
            "Which writer wrote {x}?",
            "{x} was written by whom?",
        ],
        [{"x": "Moby-Dick"}, {"x": "Dracula"}, {"x": "Frankenstein"}, {"x": "Ulysses"}],
    ),
    *templated(
        "event-year",
        "entity",
        [
            "In what year did {e} happen?",
            "When did {e} take place?",
            "What year was {e}?",
        ],
        [
            {"e": "the fall of the Berlin Wall"},
            {"e": "the first Moon landing"},
            {"e": "the sinking of the Titanic"},
        ],
    ),
    *templated(
        "millilitres",
        "unit",
        [
            "How many millilitres are in a {u}?",
            "Convert one {u} to millilitres",
            "What is a {u} in ml?",
            "One {u} equals how many millilitres?",
        ],
        [{"u": "cup"}, {"u": "tablespoon"}, {"u": "teaspoon"}, {"u": "pint"}],
    ),
    *templated(
        "sort",
        "entity",
        [
            "How do I sort a list in {l}?",
            "What's the way to sort an array in {l}?",
            "Sorting a list in {l}: how?",
            "How can I order the elements of a list in {l}?",
        ],
        [{"l": "Python"}, {"l": "JavaScript"}, {"l": "Java"}, {"l": "Rust"}],
    ),
    *templated(
        "boiling",
        "entity",
        [
            "What is the boiling point of {x}?",
            "At what temperature does {x} boil?",
            "When does {x} start to boil?",
            "Boiling temperature of {x}?",
        ],
        [{"x": "water"}, {"x": "ethanol"}, {"x": "mercury"}, {"x": "olive oil"}],
    ),
]

_PARAPHRASES: list[Group] = [
    group(
        "sky",
        "Why is the sky blue?",
        "What makes the sky look blue?",
        "Why does the sky appear blue?",
        "Reason the sky is blue",
    ),
    group(
        "egg",
        "How do I boil an egg?",
        "What's the best way to boil an egg?",
        "How long do I cook a boiled egg?",
        "Steps for boiling eggs",
    ),
    group(
        "sleep",
        "How can I improve my sleep?",
        "What are ways to sleep better?",
        "Tips for getting better sleep",
        "How do I sleep more soundly?",
    ),
    group(
        "vaccines",
        "How do vaccines work?",
        "Explain how vaccines work",
        "What does a vaccine do in the body?",
        "How does vaccination protect you?",
    ),
    group(
        "ml",
        "What is machine learning?",
        "Explain machine learning to me",
        "Can you define machine learning?",
        "What does machine learning mean?",
    ),
    group(
        "photosynthesis",
        "What is photosynthesis?",
        "Explain photosynthesis",
        "How do plants make food from sunlight?",
        "Describe the process of photosynthesis",
    ),
    group(
        "div",
        "How do I center a div in CSS?",
        "How can I center a div with CSS?",
        "CSS: centre a div horizontally and vertically",
        "What's the way to put a div in the middle of the page with CSS?",
    ),
    group(
        "mona-lisa",
        "Who painted the Mona Lisa?",
        "Which artist painted the Mona Lisa?",
        "The Mona Lisa was painted by whom?",
        "Who is the painter of the Mona Lisa?",
    ),
    group(
        "rain",
        "What causes rain?",
        "Why does it rain?",
        "How does rain form?",
        "Where does rain come from?",
    ),
    group(
        "tea",
        "How do I make a cup of tea?",
        "What is the way to prepare tea?",
        "How to brew a good cup of tea",
        "Steps for making tea",
    ),
    group(
        "http",
        "What does HTTP stand for?",
        "What is HTTP short for?",
        "Expand the acronym HTTP",
        "What is the full form of HTTP?",
    ),
    group(
        "git-branch",
        "How do I delete a git branch?",
        "How can I remove a branch in git?",
        "Delete a local branch in git",
        "What's the git command to delete a branch?",
    ),
    group(
        "scifi",
        "Recommend a good science fiction book",
        "Can you suggest a good sci-fi novel?",
        "What's a great science fiction novel to read?",
        "Suggest a sci-fi book worth reading",
    ),
    group(
        "speed-light",
        "What is the speed of light?",
        "How fast does light travel?",
        "What's the velocity of light in a vacuum?",
        "How quick is light?",
    ),
    group(
        "es",
        "What is Elasticsearch?",
        "Tell me what Elasticsearch is",
        "Explain Elasticsearch",
        "What is Elasticsearch used for?",
    ),
    group(
        "headache",
        "How can I get rid of a headache?",
        "What helps relieve a headache?",
        "Ways to cure a headache quickly",
        "What should I do for a headache?",
    ),
    group(
        "resume",
        "How do I write a resume?",
        "Tips for writing a CV",
        "What should a good resume include?",
        "How to make a strong resume",
    ),
    group(
        "coffee-stain",
        "How do I get coffee stains out of a shirt?",
        "How can I remove a coffee stain from clothing?",
        "Removing coffee stains from a shirt",
        "What takes coffee stains out of fabric?",
    ),
]

_UNRELATED: list[Group] = unrelated(
    "design-single",
    [
        "Write a limerick about a cat",
        "What is the best way to learn a new language?",
        "Suggest a name for a coffee shop",
        "How do airplanes stay in the air?",
        "What should I bring to a beach holiday?",
        "Explain the rules of cricket",
        "Give me a recipe for pancakes",
        "How does a microwave oven heat food?",
        "What is the plot of Macbeth?",
        "How do I fix a leaking tap?",
        "Why is the ocean salty?",
        "Recommend a card game for two players",
        "What is a neural network?",
        "How do I clean an oven?",
        "Describe the water cycle",
        "What does a data engineer do?",
        "How do I sync my calendar across devices?",
        "What is the ozone layer?",
        "How do magnets work?",
        "What is kombucha?",
        "Tell me a fun fact about penguins",
        "How do I start running as a beginner?",
        "What is a sonnet?",
        "How are diamonds formed?",
        "What is blockchain?",
    ],
)

GROUPS: list[Group] = [*_NEAR, *_PARAPHRASES, *_UNRELATED]
check(GROUPS)
