"""TLS material for a secure local node: a throw-away CA, a server certificate, a keystore.

The certificates are made with the distribution's own ``bin/elasticsearch-certutil`` (what
Elasticsearch's documentation uses) or, without it, with the ``openssl`` command line.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path

from ._shared import HOST, chmod_shared, run_tool, tool_environment
from .errors import NodeError

__all__ = [
    "ELASTIC_USER",
    "SECURE_SETTINGS",
    "TlsFiles",
    "generate_tls_files",
    "secure_node_config",
]

ELASTIC_USER = "elastic"
"""The built-in superuser whose password a secure node sets through ``bootstrap.password``."""

# Settings a secure node gets on top of BASE_SETTINGS; paths are relative to the config dir.
SECURE_SETTINGS: Mapping[str, str] = {
    "xpack.security.enabled": "true",
    "xpack.security.http.ssl.enabled": "true",
    "xpack.security.http.ssl.key": "certs/node.key",
    "xpack.security.http.ssl.certificate": "certs/node.crt",
    "xpack.security.http.ssl.certificate_authorities": "certs/ca.crt",
    # a single-node cluster on loopback needs no transport TLS (no bootstrap check applies)
}


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """PEM files of a throw-away certificate authority and of a server certificate it
    signed for ``127.0.0.1`` and ``localhost`` (subject alternative names IP and DNS)."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def _unzip_flat(archive: Path, names: Mapping[str, Path]) -> None:
    """Extract the members of ``archive`` whose base name is a key of ``names``."""
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            target = names.get(Path(info.filename).name)
            if target is not None and not info.is_dir():
                target.write_bytes(bundle.read(info))


def _certutil_tls_files(
    files: TlsFiles, certutil: Path, java_home: Path, days: int, scratch: Path
) -> None:
    environment = tool_environment(java_home, scratch)
    ca_zip, node_zip = scratch / "ca.zip", scratch / "node.zip"
    run_tool(
        [str(certutil), "ca", "--pem", "--silent", "--days", str(days), "--out", str(ca_zip)],
        env=environment,
    )
    _unzip_flat(ca_zip, {"ca.crt": files.ca_cert, "ca.key": files.ca_key})
    run_tool(
        [
            str(certutil),
            "cert",
            "--pem",
            "--silent",
            "--ca-cert",
            str(files.ca_cert),
            "--ca-key",
            str(files.ca_key),
            "--name",
            "node",
            "--ip",
            HOST,
            "--dns",
            "localhost",
            "--days",
            str(days),
            "--out",
            str(node_zip),
        ],
        env=environment,
    )
    _unzip_flat(node_zip, {"node.crt": files.cert, "node.key": files.key})


def _openssl_tls_files(files: TlsFiles, openssl: str, days: int, scratch: Path) -> None:
    extensions = scratch / "node.ext"
    extensions.write_text(
        f"subjectAltName=IP:{HOST},DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n",
        encoding="utf-8",
    )
    request = scratch / "node.csr"
    ca = [
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days)),
        *("-keyout", str(files.ca_key), "-out", str(files.ca_cert)),
        *("-subj", "/CN=langchain-elasticsearch-cache test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    ]
    node_request = [
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"),
        *("-keyout", str(files.key), "-out", str(request)),
    ]
    signing = [
        *("x509", "-req", "-in", str(request), "-days", str(days), "-sha256"),
        *("-CA", str(files.ca_cert), "-CAkey", str(files.ca_key), "-CAcreateserial"),
        *("-CAserial", str(scratch / "ca.srl"), "-extfile", str(extensions)),
        *("-out", str(files.cert)),
    ]
    for arguments in (ca, node_request, signing):
        run_tool([openssl, *arguments])


def generate_tls_files(
    directory: str | os.PathLike[str],
    *,
    es_home: str | os.PathLike[str] | None = None,
    java_home: str | os.PathLike[str] | None = None,
    days: int = 30,
) -> TlsFiles:
    """Make a new CA and a server certificate for ``127.0.0.1`` / ``localhost`` in PEM.

    Written to ``directory`` as ``ca.crt``, ``ca.key``, ``node.crt`` and ``node.key``.
    With ``es_home`` and ``java_home`` the distribution's own ``bin/elasticsearch-certutil``
    makes them (what Elasticsearch's documentation uses); otherwise, or when that tool is
    missing, the ``openssl`` command line does. Every file is world-readable: the node may
    run as another user, and these are throw-away test credentials.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=target / "ca.crt",
        ca_key=target / "ca.key",
        cert=target / "node.crt",
        key=target / "node.key",
    )
    certutil = Path(es_home) / "bin" / "elasticsearch-certutil" if es_home is not None else None
    openssl = shutil.which("openssl")
    with tempfile.TemporaryDirectory(prefix=".tls-", dir=target) as scratch_name:
        scratch = Path(scratch_name)
        if certutil is not None and java_home is not None and certutil.is_file():
            _certutil_tls_files(files, certutil, Path(java_home), days, scratch)
        elif openssl:
            _openssl_tls_files(files, openssl, days, scratch)
        else:
            raise NodeError(
                "cannot make TLS certificates: no bin/elasticsearch-certutil in the "
                "distribution and no openssl on PATH (install openssl)"
            )
    for path in (files.ca_cert, files.ca_key, files.cert, files.key):
        if not path.is_file():
            raise NodeError(f"certificate generation did not produce {path}")
        chmod_shared(path, executable=False)
    return files


def secure_node_config(
    config_dir: Path, *, es_home: Path, java_home: Path, password: str
) -> TlsFiles:
    """TLS material under ``config_dir/certs`` and a keystore holding ``bootstrap.password``,
    for a node started with :data:`SECURE_SETTINGS` (its ``elastic`` password is ``password``).

    The keystore tool and the certificate tool are JVMs taking seconds each, so the
    keystore is made while the certificates are.
    """
    environment = tool_environment(java_home, config_dir.parent / "tmp")
    environment["ES_PATH_CONF"] = str(config_dir)
    failure: list[BaseException] = []

    def make_keystore() -> None:
        try:
            run_tool(
                [
                    str(es_home / "bin" / "elasticsearch-keystore"),
                    "add",
                    "--stdin",
                    "--force",  # creates the keystore without asking
                    "bootstrap.password",
                ],
                env=environment,
                stdin_text=password,
            )
        except BaseException as error:
            failure.append(error)

    keystore = threading.Thread(target=make_keystore, name="es-keystore", daemon=True)
    keystore.start()
    try:
        files = generate_tls_files(config_dir / "certs", es_home=es_home, java_home=java_home)
    finally:
        keystore.join()
    if failure:
        raise failure[0]
    if not (config_dir / "elasticsearch.keystore").is_file():
        raise NodeError("elasticsearch-keystore did not create config/elasticsearch.keystore")
    return files
