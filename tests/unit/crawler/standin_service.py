"""A stand-in for ``optout_service.cli serve``, for the tests of ``ServiceProcess``.

Takes the options the crawler appends (``--uds``, ``--lifeline-fd``, ``--log-level``,
``--timeout-keep-alive``) and a behaviour first:

- ``ok``: serves ``/readyz`` (with the number of connections accepted so far) and answers
  ``POST /v1/decisions`` with allow-all, if the bearer key is the one in
  ``OPTOUT_AUTH__API_KEYS``; writes its environment as JSON to ``$STANDIN_ENV_FILE`` when that
  is set; ends on SIGTERM or when the lifeline breaks;
- ``fail``: writes a traceback and a one-line error, exits 1 without listening;
- ``never-ready``: runs without ever listening;
- ``stubborn``: like ``ok`` but ignores SIGTERM (only SIGKILL ends it);
- ``report``: like ``ok``, and writes to ``$STANDIN_REPORT_FILE`` what ended it: ``SIGTERM``,
  or ``lifeline`` (3 s after the lifeline broke, so that a signal sent at the same time wins).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    key = ""
    connections = 0  # accepted so far

    def setup(self) -> None:
        Handler.connections += 1
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/readyz":
            self._answer(200, {"status": "ok", "connections": Handler.connections})
        else:
            self._answer(404, {"detail": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        if self.headers.get("Authorization") != f"Bearer {self.key}":
            self._answer(401, {"detail": "bad key"})
            return
        decisions = [
            {
                "id": f"d{i}",
                "url": url,
                "decision": "allow",
                "reasons": ["robots.allowed"],
                "crawl_delay": None,
            }
            for i, url in enumerate(body["urls"])
        ]
        self._answer(200, {"decisions": decisions})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("behaviour", choices=["ok", "fail", "never-ready", "stubborn", "report"])
    parser.add_argument("--uds", required=True)
    parser.add_argument("--lifeline-fd", type=int, required=True)
    parser.add_argument("--log-level")
    parser.add_argument("--timeout-keep-alive")
    args = parser.parse_args()
    if args.behaviour == "fail":
        print("Traceback (most recent call last):", file=sys.stderr)
        print("error: database: unable to open database file", file=sys.stderr)
        sys.exit(1)

    report = os.environ.get("STANDIN_REPORT_FILE", "")

    def ended_by(what: str) -> None:
        if args.behaviour == "report":
            Path(report).write_text(what, encoding="utf-8")
        os._exit(3)

    def watch_lifeline() -> None:
        while os.read(args.lifeline_fd, 512):
            pass
        if args.behaviour == "report":
            time.sleep(3)
        ended_by("lifeline")

    threading.Thread(target=watch_lifeline, daemon=True).start()
    if args.behaviour == "never-ready":
        while True:
            time.sleep(1)
    if env_file := os.environ.get("STANDIN_ENV_FILE"):
        Path(env_file).write_text(json.dumps(dict(os.environ)), encoding="utf-8")
    Handler.key = json.loads(os.environ["OPTOUT_AUTH__API_KEYS"])[0]["key"]
    if args.behaviour == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.behaviour == "report":
        signal.signal(signal.SIGTERM, lambda signum, frame: ended_by("SIGTERM"))
    server = Server(args.uds, Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
