"""``innograph serve``: the app under gunicorn, started from Python (not Flask's debug server).

One gunicorn worker process with THREADS threads: the queries themselves run in the executor
processes that this worker's QueryService owns, so more web processes would only duplicate the
store. The gthread worker's heartbeat runs in its main loop, so a long query never makes gunicorn
kill the worker; QUERY_TIMEOUT is enforced by the QueryService. When the worker stops (SIGTERM,
Ctrl-C), atexit closes the QueryService; if it is killed, the fork server sees its control socket
close and stops its executors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from . import readtimeout


class InnographServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application whose WSGI app is ``create_app(overrides)``, built in the worker."""

    def __init__(self, settings: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
        self.settings = settings
        self.overrides = dict(overrides)
        super().__init__()

    def load_config(self) -> None:
        timeout = max(120, int(float(self.settings["QUERY_TIMEOUT"]) * 2))
        options = {
            "bind": f"{self.settings['HOST']}:{self.settings['PORT']}",
            "workers": 1,
            "worker_class": readtimeout.worker_class(float(self.settings["READ_TIMEOUT"])),  # gthread, slow clients cut off
            "threads": int(self.settings["THREADS"]),
            "timeout": timeout,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": "-" if self.settings.get("ACCESS_LOG") else None,  # ~0.3 ms a request: opt-in
            "proc_name": "innograph",
            "control_socket_disable": True,  # a shared ~/.gunicorn/gunicorn.ctl would clash between servers
        }
        for key, value in options.items():
            if key in self.cfg.settings:  # older gunicorn has no control socket
                self.cfg.set(key, value)

    def load(self) -> Any:
        from . import create_app

        return create_app(self.overrides)


def run(settings: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """Serve until interrupted."""
    InnographServer(settings, overrides).run()
