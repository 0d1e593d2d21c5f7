"""The plugin a secure node needs for its ``.security`` index.

The integ-test zip lacks the analysis-common module, and the settings of the ``.security``
system index use three of its components (an ``email`` analyzer built from the
``uax_url_email`` tokenizer and the ``pattern_capture`` and ``unique`` token filters).
Without them that index cannot be created, so a secure node would have no API keys (nor
native users, roles or tokens): ``_security/api_key`` answers 400 "Unknown filter type
[pattern_capture]". A secure node therefore runs from a hard-linked copy of the install
with a tiny *stable* analysis plugin registering those three names: ``uax_url_email`` is
Lucene's own tokenizer, the two filters pass tokens through (they only shape how the
e-mail addresses of native users are searched). The stable plugin API is the one
Elasticsearch keeps compatible across versions; the plugin is compiled here with the
JDK's ``javac`` against the jars of the distribution it is added to.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from ._shared import (
    COMPLETE_MARKER,
    chmod_shared,
    exclusive_lock,
    link_or_copy,
    makedirs_shared,
    run_tool,
    tool_environment,
)
from .errors import NodeError

__all__ = ["home_with_security_index"]

logger = logging.getLogger(__name__)

_SECURITY_ANALYSIS_PLUGIN = "lecache-security-analysis"
_SECURITY_ANALYSIS_SOURCES: Mapping[str, str] = {
    "PatternCapture": """package lecache;
import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
@NamedComponent("pattern_capture")
public class PatternCapture implements TokenFilterFactory {
    public TokenStream create(TokenStream input) { return input; }
}
""",
    "Unique": """package lecache;
import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;
@NamedComponent("unique")
public class Unique implements TokenFilterFactory {
    public TokenStream create(TokenStream input) { return input; }
}
""",
    "UaxUrlEmail": """package lecache;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenizerFactory;
@NamedComponent("uax_url_email")
public class UaxUrlEmail implements TokenizerFactory {
    public Tokenizer create() { return new UAX29URLEmailTokenizer(); }
}
""",
}
_SECURITY_ANALYSIS_COMPONENTS = {
    "org.elasticsearch.plugin.analysis.TokenFilterFactory": {
        "pattern_capture": "lecache.PatternCapture",
        "unique": "lecache.Unique",
    },
    "org.elasticsearch.plugin.analysis.TokenizerFactory": {
        "uax_url_email": "lecache.UaxUrlEmail",
    },
}


def _build_security_analysis_plugin(home: Path, java_home: Path, target: Path) -> None:
    javac = java_home / "bin" / "javac"
    if not javac.is_file():
        raise NodeError(f"{java_home} has no bin/javac (a JRE?): a JDK is needed")
    lib = home / "lib"
    classpath = []
    for pattern in (
        "elasticsearch-plugin-analysis-api-*.jar",
        "elasticsearch-plugin-api-*.jar",
        "lucene-core-*.jar",
        "lucene-analysis-common-*.jar",
    ):
        found = sorted(lib.glob(pattern))
        if not found:
            raise NodeError(f"{lib} has no {pattern}: cannot build the analysis plugin")
        classpath.append(str(found[0]))
    version = home.name.removeprefix("elasticsearch-")
    with tempfile.TemporaryDirectory(prefix=".plugin-", dir=target.parent) as scratch_name:
        scratch = Path(scratch_name)
        sources = []
        for name, text in _SECURITY_ANALYSIS_SOURCES.items():
            source = scratch / "lecache" / f"{name}.java"
            source.parent.mkdir(exist_ok=True)
            source.write_text(text, encoding="utf-8")
            sources.append(str(source))
        classes = scratch / "classes"
        run_tool(
            [
                *(str(javac), "--release", "17", "-proc:none", "-nowarn"),
                *("-cp", os.pathsep.join(classpath), "-d", str(classes), *sources),
            ],
            env=tool_environment(java_home, scratch),
        )
        makedirs_shared(target)
        with zipfile.ZipFile(target / f"{_SECURITY_ANALYSIS_PLUGIN}.jar", "w") as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for compiled in sorted(classes.rglob("*.class")):
                jar.write(compiled, compiled.relative_to(classes).as_posix())
    (target / "stable-plugin-descriptor.properties").write_text(
        "description=stand-ins for the analysis-common components of the .security index\n"
        f"version=1.0\nname={_SECURITY_ANALYSIS_PLUGIN}\n"
        f"elasticsearch.version={version}\njava.version=17\n",
        encoding="utf-8",
    )
    (target / "named_components.json").write_text(
        json.dumps(_SECURITY_ANALYSIS_COMPONENTS), encoding="utf-8"
    )
    for path in target.iterdir():
        chmod_shared(path, executable=False)


def home_with_security_index(home: Path, java_home: Path) -> Path:
    """``home`` plus the analysis plugin the ``.security`` index needs (see above), made
    once next to it as a hard-linked copy (a plain copy across file systems)."""
    if (home / "modules" / "analysis-common").is_dir():
        return home  # a full distribution: nothing is missing
    root = home.parent / "with-security-index"
    makedirs_shared(root)
    target = root / home.name
    marker = root / f".{home.name}{COMPLETE_MARKER}"
    with exclusive_lock(root / f".{home.name}.lock"):
        if marker.is_file() and target.is_dir():
            return target
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(home, target, symlinks=True, copy_function=link_or_copy)
        _build_security_analysis_plugin(
            home, java_home, target / "plugins" / _SECURITY_ANALYSIS_PLUGIN
        )
        marker.touch(mode=0o644)
    logger.info("made %s: %s plus a plugin the .security index needs", target, home)
    return target
