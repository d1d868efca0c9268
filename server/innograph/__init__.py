"""innograph: a knowledge graph of innovation networks, served as linked data over SPARQL 1.1.

The package exposes only ``create_app``; the runtime lives in ``app.extensions["innograph"]``,
never in module globals. It is an ``executor.QueryService``: ``run(Job)`` for the SPARQL endpoint,
``terms()`` / ``graph()`` for pages, ``apply_write()`` for contributions, ``status()`` for /health,
``wait_ready()`` to block until the store is loaded (loading starts when the app is created).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings (defaults < INNOGRAPH_* env < ``config``), store, blueprints.

    ``config`` may also set ``START_STORE: False`` (tests of views that need no store).
    """
    from .config import load_settings

    app = Flask(__name__)
    app.config.update(load_settings(config))
    if app.config.get("START_STORE", True):
        from .executor import QueryService
        from .namespaces import PREFIXES

        if app.config.get("SPARQL_QUERY_URL"):  # an external SPARQL 1.1 store instead (remote.py)
            __import__("innograph.remote", fromlist=["init_app"]).init_app(app, PREFIXES)
        else:
            app.extensions["innograph"] = QueryService(app.config, prefixes=PREFIXES)
    _register_blueprints(app)
    if app.config["PROXY_HOPS"]:  # the client address and scheme as the trusted proxies saw them
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        if hops < 0:  # ProxyFix would then trust an address the client wrote
            raise ValueError(f"INNOGRAPH_PROXY_HOPS must be 0 or more, not {hops}")
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _register_blueprints(app: Flask) -> None:
    """Every blueprint of the app, in one place. Add new ones here."""
    from . import contributions, guide, health, openapi, pages, publish, sparql, ui

    app.register_blueprint(ui.bp)  # page language, navigation, the base layout and the query UI
    app.register_blueprint(sparql.bp)  # SPARQL 1.1 Protocol: /sparql
    app.register_blueprint(pages.bp)  # linked data: /, /id/..., /ontology, /shapes, /docs/...
    app.register_blueprint(publish.bp)  # the dataset as files (/dumps/...) and its description (/.well-known/void)
    app.register_blueprint(contributions.bp)  # /validate, /contributions
    app.register_blueprint(openapi.bp)  # /openapi.json: the HTTP interface described
    app.register_blueprint(health.bp)  # /health: liveness and store status
    app.register_blueprint(guide.bp)  # /contribute: the contribution guide
