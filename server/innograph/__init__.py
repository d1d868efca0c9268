"""innograph: a knowledge graph of innovation networks, served as linked data over SPARQL 1.1.

The package exposes only ``create_app``; the loaded store and its executors live in
``app.extensions["innograph"]``, never in module globals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings (defaults < INNOGRAPH_* env < ``config``), store, blueprints."""
    from .config import load_settings

    app = Flask(__name__)
    app.config.update(load_settings(config))
    from . import ui

    app.register_blueprint(ui.bp)  # page language, navigation, the base layout and the query UI
    return app
