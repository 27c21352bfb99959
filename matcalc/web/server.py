"""The HTTP side of ``matcalc serve``: the standard library's threaded server, bound to 127.0.0.1
by default. It serves the page and its files from the package (KaTeX included: nothing is
fetched from the network) and the JSON API of ``service``, whose requests run in the worker
processes of ``workers`` (time and memory limits).

Hard to hurt: request bodies are JSON only (``Content-Type: application/json``) and at most
``MAX_BODY`` bytes; the ``Host`` header must name this server (a DNS-rebinding page cannot reach
it); static files come only from the package's ``static`` folder; every response carries a
content-security policy that allows nothing from elsewhere; no input is ever evaluated.
"""
from __future__ import annotations

import json
import sys
import threading
import webbrowser
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .workers import WorkerPool

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".woff2": "font/woff2", ".txt": "text/plain; charset=utf-8",
                 ".svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
API = {"/api/derive": "derive", "/api/verify": "verify"}


class Answers:
    """The last ``size`` answers by request (least recently used out): an answer is a function of
    its request alone — the numeric check is seeded — so a page reloaded, or a shape edited back,
    is answered at once. Answers past a time or memory limit are not kept (they may pass later)."""

    def __init__(self, size: int = 256):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            answer = self.items.get(key)
            if answer is not None:
                self.items.move_to_end(key)
            return answer

    def put(self, key, answer):
        with self.lock:
            self.items[key] = answer
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


class MatcalcServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, pool: WorkerPool, quiet: bool = True):
        super().__init__(address, _Handler)
        self.pool = pool
        self.answers = Answers()
        self.quiet = quiet
        host = address[0]
        self.allowed_hosts = None if host in ("", "0.0.0.0", "::") else LOCAL_NAMES | {host.strip("[]")}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: MatcalcServer
    server_version = "matcalc"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002  (the standard library's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    # -- replies -----------------------------------------------------------------------------------
    def reply(self, status: int, body: bytes, content_type: str, cache: bool = False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status: int, body: dict):
        self.reply(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def refuse(self, status: int, message: str, kind: str = "RequestError"):
        self.reply_json(status, {"error": {"type": kind, "message": message, "position": None}})

    def host_allowed(self) -> bool:
        allowed = self.server.allowed_hosts
        if allowed is None:
            return True
        host = self.headers.get("Host", "")
        name = urlsplit("//" + host).hostname or ""
        return name in allowed

    # -- methods -----------------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802  (the standard library's name)
        if not self.host_allowed():
            return self.refuse(403, "this server answers requests for localhost only (Host header)")
        path = urlsplit(self.path).path
        if path == "/":
            return self.static_file(STATIC / "index.html")
        if path.startswith("/static/"):
            return self.static_file(STATIC / path[len("/static/"):])
        if path in API:
            return self.refuse(405, f"{path} takes POST with a JSON body")
        self.refuse(404, f"no such page: {path}")

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802
        if not self.host_allowed():
            return self.refuse(403, "this server answers requests for localhost only (Host header)")
        path = urlsplit(self.path).path
        if path not in API:
            return self.refuse(404, f"no such API: {path} (there are {', '.join(API)})")
        if self.headers.get_content_type() != "application/json":
            return self.refuse(415, "the body must be JSON (Content-Type: application/json)")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.refuse(411, "a Content-Length is required")
        if length > MAX_BODY or length < 0:
            return self.refuse(413, f"the request is larger than {MAX_BODY} bytes")
        try:
            request = json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            return self.refuse(400, f"the body is not valid JSON: {err}")
        key = (API[path], json.dumps(request, sort_keys=True))
        answer = self.server.answers.get(key)
        if answer is None:
            answer = self.server.pool.call(API[path], request)
            if answer[0] in (200, 422) and answer[1].get("error", {}).get("type") != "LimitError":
                self.server.answers.put(key, answer)   # (an answer is a function of the request)
        self.reply_json(*answer)

    def static_file(self, path: Path):
        try:
            resolved = path.resolve()
            resolved.relative_to(STATIC.resolve())
        except (ValueError, OSError):
            return self.refuse(404, "no such file")
        if not resolved.is_file() or resolved.suffix not in CONTENT_TYPES and resolved.name != "LICENSE":
            return self.refuse(404, "no such file")
        content_type = CONTENT_TYPES.get(resolved.suffix, "text/plain; charset=utf-8")
        self.reply(200, resolved.read_bytes(), content_type, cache=resolved.suffix in (".woff2",))


def make_server(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 2, time_limit: float | None = None,
                quiet: bool = True) -> MatcalcServer:
    """A server on ``host:port`` (port 0: any free port) with its worker processes started."""
    pool = WorkerPool(workers, **({} if time_limit is None else {"time_limit": time_limit}))
    try:
        return MatcalcServer((host, port), pool, quiet=quiet)
    except OSError:
        pool.close()
        raise


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, *, workers: int = 2,
          time_limit: float | None = None) -> None:
    """Serve until interrupted (Ctrl-C), with ``workers`` worker processes and a time limit per
    derivation (default ``workers.TIME_LIMIT``)."""
    server = make_server(host, port, workers=workers, time_limit=time_limit, quiet=False)
    if host not in LOCAL_NAMES:
        print(f"matcalc: warning: serving on {host}, reachable from other machines; the page has no login",
              file=sys.stderr)
    print(f"matcalc: serving on {server.url} (Ctrl-C stops)", file=sys.stderr)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, (server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.pool.close()
