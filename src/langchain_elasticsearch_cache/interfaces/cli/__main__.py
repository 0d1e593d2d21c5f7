"""``python -m langchain_elasticsearch_cache.interfaces.cli``: the console script."""

import sys

from .app import main

sys.exit(main())
