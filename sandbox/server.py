"""HTTP serving helpers (werkzeug's threaded development server)."""

import logging

from werkzeug.serving import WSGIRequestHandler, make_server, run_simple

from .app import SandboxApp


class SandboxRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive (every sandbox response has a Content-Length)."""

    protocol_version = "HTTP/1.1"


class QuietRequestHandler(SandboxRequestHandler):
    """No per-request access log lines (errors are still logged)."""

    def log_request(self, *args, **kwargs):
        pass


def serve(host="127.0.0.1", port=8079, quiet=False, **app_kwargs):
    """Run the sandbox in the foreground until interrupted."""
    app = SandboxApp(**app_kwargs)
    handler = QuietRequestHandler if quiet else SandboxRequestHandler
    try:
        run_simple(host, port, app, threaded=True, request_handler=handler)
    finally:
        app.close()


def make_background_server(host="127.0.0.1", port=0, **app_kwargs):
    """(server, app) bound to ``port`` (0 = a free port); call serve_forever."""
    app = SandboxApp(**app_kwargs)
    server = make_server(
        host, port, app, threaded=True, request_handler=QuietRequestHandler
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return server, app
