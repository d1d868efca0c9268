"""Settings: one declarative table (name, default, help), read from the defaults, then from
``INNOGRAPH_*`` environment variables, then from command-line flags / the ``config`` argument of
``create_app`` (tests). The help strings feed ``innograph --help``, the README and a test that
checks every setting is documented.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str  # config key; the environment variable is INNOGRAPH_<name>
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"INNOGRAPH_{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting("STORE", "./var/store", "Directory of the embedded store (snapshot, journal of accepted contributions, archive)."),
    Setting("STORE_MODE", "memory", "'memory': queries run on an in-memory copy rebuilt at start from the on-disk store; 'disk': queries run on the on-disk store (graphs larger than memory)."),
    Setting("REPO_DIR", ".", "Repository root holding ontology/, shapes/, data/ and queries/."),
    Setting("QUERIES_DIR", None, "Directory of the example queries (*.rq) offered by the query UI (default REPO_DIR/queries)."),
    Setting("SPARQL_QUERY_URL", None, "Query URL of an external SPARQL 1.1 store; when set it replaces the embedded one."),
    Setting("SPARQL_UPDATE_URL", None, "Update URL of the external SPARQL 1.1 store."),
    Setting("SPARQL_GSP_URL", None, "Graph Store Protocol URL of the external SPARQL 1.1 store."),
    Setting("SPARQL_USER", None, "User name for the external store (HTTP basic auth)."),
    Setting("SPARQL_PASSWORD", None, "Password for the external store (HTTP basic auth)."),
    Setting("BASE_IRI", "https://w3id.org/innograph/", "Namespace of the things served; IRIs under it are served at the same path on this host."),
    Setting("PUBLIC_URL", None, "The server's own public URL (default http://HOST:PORT)."),
    Setting("HOST", "127.0.0.1", "Interface to listen on (loopback by default: expose it on purpose, behind a reverse proxy)."),
    Setting("PORT", 8000, "TCP port to listen on."),
    Setting("WORKERS", 2, "Query executor processes (each can use one core; a runaway query is killed in its own process)."),
    Setting("THREADS", 8, "Request-handling threads of the web server."),
    Setting("QUERY_TIMEOUT", 30.0, "Seconds before a query is stopped (its executor process is killed and replaced)."),
    Setting("MAX_ROWS", 100000, "Result rows (or triples) before truncation; a truncated response says so in the Innograph-Truncated header."),
    Setting("MAX_BODY", 10485760, "Request body cap in bytes (413 beyond)."),
    Setting("MAX_TRIPLES", 100000, "Triples per contribution or validation request (413 beyond)."),
    Setting("ALLOW_SERVICE", False, "Allow SERVICE in queries (federated queries make outbound requests: off by default)."),
    Setting("TOKENS", "./var/tokens", "File of hashed contribution tokens."),
    Setting("ACCESS_LOG", False, "Write an access log line per request to standard output (costs ~0.3 ms a request)."),
    Setting("READ_TIMEOUT", 20.0, "Seconds a client has to send a request's line, headers and body from its first byte, plus one per 500 bytes received: a client that trickles bytes gets 408 instead of holding a web thread."),
    Setting("AUTH_FAILURES", 10, "Unknown contribution tokens one client (IP address) may present within AUTH_WINDOW seconds; beyond, 429 with Retry-After."),
    Setting("AUTH_WINDOW", 300.0, "Seconds over which a client's unknown tokens are counted (see AUTH_FAILURES)."),
    Setting("PROXY_HOPS", 0, "Reverse proxies in front of the server whose X-Forwarded-For and X-Forwarded-Proto are trusted (the client address of the token rate limit is then the real client's); 0: those headers are ignored, a client cannot forge its address."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    """Convert an environment string to the type of the setting's default."""
    if value is None or not isinstance(value, str):
        return value
    default = setting.default
    if isinstance(default, bool):
        if value.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if value.strip().lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{setting.env}: expected true or false, got {value!r}")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then INNOGRAPH_* environment variables, then ``overrides`` (flags, tests)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for s in SETTINGS:
        values[s.name] = s.default
        if s.env in environ:
            values[s.name] = _coerce(s, environ[s.env])
    for key, value in (overrides or {}).items():
        values[key] = _coerce(_BY_NAME[key], value) if key in _BY_NAME else value
    if not values.get("PUBLIC_URL"):
        values["PUBLIC_URL"] = f"http://{values['HOST']}:{values['PORT']}"
    values["PUBLIC_URL"] = str(values["PUBLIC_URL"]).rstrip("/")
    return values
