"""HELD-OUT part of the verified-cache benchmark data.

Written by hand and committed on its own, before the benchmark code existed and before
any cache or embedding model was run on it; never run while the benchmark (stream sizes,
popularity, threshold grid) or the verified cache were designed or tuned. The design part
(:mod:`.design`) shares no topic with it. Its figures in ``benchmarks/VERIFIED.md`` are
the ones to trust.
"""

from __future__ import annotations

from . import Group, check, group, templated, unrelated

_NEAR: list[Group] = [
    *templated(
        "language",
        "entity",
        [
            "Which language is mainly spoken in {x}?",
            "What language do most people in {x} speak?",
            "What is the main language of {x}?",
            "In {x}, what language do people mostly speak?",
        ],
        [{"x": "Brazil"}, {"x": "Argentina"}, {"x": "Austria"}, {"x": "Egypt"}, {"x": "Iran"}],
    ),
    *templated(
        "currency",
        "entity",
        [
            "What currency is used in {x}?",
            "Which currency does {x} use?",
            "What is the official currency of {x}?",
            "What money do they use in {x}?",
        ],
        [{"x": "Japan"}, {"x": "Switzerland"}, {"x": "Mexico"}, {"x": "India"}],
    ),
    *templated(
        "minutes",
        "number",
        [
            "How many minutes are in {n} hours?",
            "Convert {n} hours to minutes",
            "{n} hours is how many minutes?",
            "What is {n} hours expressed in minutes?",
        ],
        [{"n": "2"}, {"n": "3"}, {"n": "5"}, {"n": "8"}],
    ),
    *templated(
        "square",
        "number",
        [
            "What is {n} squared?",
            "Compute the square of {n}",
            "What do you get when you multiply {n} by itself?",
            "{n} to the power of two equals what?",
        ],
        [{"n": "12"}, {"n": "13"}, {"n": "15"}, {"n": "21"}],
    ),
    group(
        "amazon/length",
        "How long is the Amazon River?",
        "What is the length of the Amazon River?",
        "The Amazon River is how many kilometres long?",
        "Tell me the length of the Amazon",
        family="amazon",
        variation="attribute",
    ),
    group(
        "amazon/mouth",
        "Where does the Amazon River end?",
        "Into which ocean does the Amazon River flow?",
        "Where is the mouth of the Amazon River?",
        "Which ocean does the Amazon empty into?",
        family="amazon",
        variation="attribute",
    ),
    group(
        "amazon/countries",
        "Which countries does the Amazon River flow through?",
        "Through what countries does the Amazon River run?",
        "Name the countries the Amazon River crosses",
        "What nations does the Amazon pass through?",
        family="amazon",
        variation="attribute",
    ),
    *templated(
        "pycase",
        "opposite",
        [
            "How do I convert a string to {c} in Python?",
            "In Python, how can I make a string {c}?",
            "Python: turn a string into {c}",
            "What's the Python method to change a string to {c}?",
        ],
        [{"c": "uppercase"}, {"c": "lowercase"}, {"c": "title case"}],
    ),
    *templated(
        "fontsize",
        "opposite",
        [
            "How do I {dir} the font size in Microsoft Word?",
            "What's the way to make text {adj} in Word?",
            "In Microsoft Word, how can I {dir} the size of the text?",
            "Shortcut to {dir} font size in Word",
        ],
        [{"dir": "increase", "adj": "bigger"}, {"dir": "decrease", "adj": "smaller"}],
    ),
    *templated(
        "vitamins",
        "negation",
        [
            "Which vitamins are {neg}water-soluble?",
            "List the vitamins that are {neg}soluble in water",
            "What vitamins {do} dissolve in water?",
            "Name the vitamins which {do} dissolve in water",
        ],
        [{"neg": "", "do": "do"}, {"neg": "not ", "do": "don't"}],
    ),
    *templated(
        "temperature",
        "direction",
        [
            "How do I convert {a} to {b}?",
            "What's the formula to go from {a} to {b}?",
            "Convert a temperature from {a} into {b}",
            "How can I change degrees {a} into degrees {b}?",
        ],
        [
            {"a": "Celsius", "b": "Fahrenheit"},
            {"a": "Fahrenheit", "b": "Celsius"},
            {"a": "Celsius", "b": "Kelvin"},
        ],
    ),
    *templated(
        "director",
        "entity",
        [
            "Who directed the film {x}?",
            "Who was the director of {x}?",
            "Which filmmaker made {x}?",
            "{x} was directed by whom?",
        ],
        [{"x": "Jaws"}, {"x": "Titanic"}, {"x": "Inception"}, {"x": "Parasite"}],
    ),
    *templated(
        "weekday",
        "date",
        [
            "What day of the week was {d}?",
            "On which weekday did {d} fall?",
            "Which day of the week was it on {d}?",
        ],
        [{"d": "1 January 2000"}, {"d": "4 July 1976"}, {"d": "25 December 1990"}],
    ),
    *templated(
        "grams",
        "unit",
        [
            "How many grams are in a {u}?",
            "Convert one {u} to grams",
            "What is one {u} in grams?",
            "A {u} equals how many grams?",
        ],
        [{"u": "ounce"}, {"u": "pound"}, {"u": "kilogram"}],
    ),
    *templated(
        "pyread",
        "entity",
        [
            "How do I read a {f} file in Python?",
            "What's the way to load a {f} file with Python?",
            "Python: how to open and parse a {f} file",
            "How can I parse a {f} file in Python?",
        ],
        [{"f": "CSV"}, {"f": "JSON"}, {"f": "YAML"}, {"f": "Excel"}],
    ),
    *templated(
        "symbol",
        "entity",
        [
            "What is the chemical symbol for {x}?",
            "Which symbol stands for {x} on the periodic table?",
            "What's the element symbol of {x}?",
            "How is {x} written as a chemical symbol?",
        ],
        [{"x": "gold"}, {"x": "silver"}, {"x": "iron"}, {"x": "lead"}, {"x": "tin"}],
    ),
]

_PARAPHRASES: list[Group] = [
    group(
        "battery",
        "How do I make my laptop battery last longer?",
        "Tips to extend laptop battery life",
        "What can I do so my notebook's battery lasts longer?",
        "How to save battery on a laptop",
    ),
    group(
        "purr",
        "Why do cats purr?",
        "What makes cats purr?",
        "What is the reason cats purr?",
        "Why does a cat purr?",
    ),
    group(
        "hiccups",
        "How do I get rid of hiccups?",
        "What's a way to stop hiccups?",
        "How can I cure the hiccups?",
        "Best method to stop hiccuping",
    ),
    group(
        "inflation",
        "What is inflation in economics?",
        "Explain inflation",
        "What does inflation mean in economics?",
        "Define economic inflation",
    ),
    group(
        "git-undo",
        "How do I undo my last git commit?",
        "How can I revert the most recent commit in git?",
        "Undo the last commit in git",
        "What's the command to undo the previous git commit?",
    ),
    group(
        "climate",
        "What is the difference between weather and climate?",
        "How does climate differ from weather?",
        "Weather versus climate: what is the difference?",
        "Explain how weather and climate are different",
    ),
    group(
        "wine-stain",
        "How do I remove a red wine stain from a carpet?",
        "How can I get red wine out of carpet?",
        "Cleaning a red wine stain on a rug",
        "What removes red wine stains from carpets?",
    ),
    group(
        "dehydration",
        "What are the symptoms of dehydration?",
        "How can I tell if I'm dehydrated?",
        "Signs of dehydration",
        "What does dehydration feel like?",
    ),
    group(
        "fridge",
        "How does a refrigerator keep food cold?",
        "How do fridges work?",
        "Explain how a refrigerator cools",
        "What is the working principle of a fridge?",
    ),
    group(
        "telephone",
        "Who invented the telephone?",
        "Who is credited with inventing the telephone?",
        "Which person invented the phone?",
        "The telephone was invented by whom?",
    ),
    group(
        "cover-letter",
        "How do I write a good cover letter?",
        "Tips for writing a cover letter",
        "What makes a strong cover letter?",
        "How should I write a job application cover letter?",
    ),
    group(
        "black-hole",
        "What is a black hole?",
        "Explain what a black hole is",
        "Can you describe a black hole?",
        "What are black holes?",
    ),
    group(
        "basil",
        "How do I keep basil plants alive indoors?",
        "Tips for growing basil inside",
        "How to care for an indoor basil plant",
        "My indoor basil keeps dying, how do I keep it healthy?",
    ),
    group(
        "decorator",
        "What is a Python decorator?",
        "Explain decorators in Python",
        "How do decorators work in Python?",
        "What does a decorator do in Python?",
    ),
    group(
        "pasta",
        "How long should I boil pasta?",
        "What is the cooking time for pasta?",
        "How many minutes do you cook pasta for?",
        "For how long do I boil spaghetti?",
    ),
    group(
        "leaves",
        "Why do leaves change colour in autumn?",
        "What makes leaves turn colour in the fall?",
        "Why do tree leaves turn red and yellow in autumn?",
        "Reason leaves change colour in autumn",
    ),
    group(
        "mortgage",
        "What is a mortgage?",
        "Explain what a mortgage is",
        "How does a home mortgage work?",
        "Define mortgage",
    ),
    group(
        "dog-bark",
        "How do I stop my dog from barking at night?",
        "My dog barks at night, how do I make it stop?",
        "Ways to keep a dog quiet at night",
        "How can I train my dog not to bark at night?",
    ),
    group(
        "tallest",
        "What is the tallest building in the world?",
        "Which building is the tallest on Earth?",
        "Name the world's tallest skyscraper",
        "What's the highest building in the world?",
    ),
    group(
        "necktie",
        "How do I tie a tie?",
        "How do you knot a necktie?",
        "Steps to tie a necktie",
        "What's the way to tie a tie?",
    ),
]

_UNRELATED: list[Group] = unrelated(
    "heldout-single",
    [
        "Write a haiku about the sea",
        "What is the best way to learn to juggle?",
        "Suggest a name for a bakery",
        "How do submarines dive and surface?",
        "What should I pack for a week of camping?",
        "Explain the offside rule in football",
        "Give me a recipe for banana bread",
        "How do noise-cancelling headphones work?",
        "What is the plot of Hamlet?",
        "How do I change a flat tyre on a bicycle?",
        "Why is the Dead Sea so salty?",
        "Recommend a board game for four players",
        "What is a Turing machine?",
        "How do I descale a kettle?",
        "Describe the life cycle of a butterfly",
        "What are the rules of chess castling?",
        "How does compound interest work?",
        "Tell me a fun fact about octopuses",
        "What is the difference between a virus and a bacterium?",
        "How do I start a vegetable garden on a balcony?",
        "Why do we have leap years?",
        "What is a haiku?",
        "How are rainbows formed?",
        "What does a product manager do?",
        "How do I back up my phone photos?",
        "What is the greenhouse effect?",
        "Explain how a bill becomes law in the United Kingdom",
        "What are good stretches for lower back pain?",
        "How does a bicycle stay upright?",
        "What is sourdough starter?",
    ],
)

GROUPS: list[Group] = [*_NEAR, *_PARAPHRASES, *_UNRELATED]
check(GROUPS)
