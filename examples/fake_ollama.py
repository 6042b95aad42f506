"""A stand-in for Ollama's chat API, to try the chat example without a model.

    python3 examples/fake_ollama.py --port 11500

It answers ``POST /api/chat`` as Ollama does: one JSON reply, or JSON lines when the
request asks to stream (Ollama streams unless told not to). Instead of a model's words,
the reply says what arrived: the model asked for, how many messages, and the last one.
Point a workflow at it with ``OLLAMA_HOST=127.0.0.1:11500`` (or ``settings.llm.baseUrl``).
Only the standard library is used; stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def reply_text(request: dict[str, Any]) -> str:
    """What the stand-in answers to one chat request."""
    messages = request.get("messages") or [{}]
    count = len(messages)
    last = str(messages[-1].get("content", ""))
    return (
        f"(a stand-in for {request.get('model')}, given {count} "
        f"message{'' if count == 1 else 's'}) You said: {last}"
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            request = json.loads(body)
        except ValueError:
            self._send(400, {"error": "the body is not JSON"})
            return
        if self.path.partition("?")[0] != "/api/chat":
            self._send(404, {"error": f"no route {self.path}"})
            return
        if not isinstance(request, dict) or not request.get("model"):
            self._send(400, {"error": "model is required"})
            return
        model, text = request["model"], reply_text(request)
        done = {"model": model, "message": {"role": "assistant", "content": ""}, "done": True}
        if request.get("stream", True):
            words = text.split(" ")
            lines = [
                {"model": model, "message": {"role": "assistant", "content": piece}, "done": False}
                for piece in [words[0], *(" " + word for word in words[1:])]
            ]
            self._lines([*lines, done])
        else:
            done["message"]["content"] = text
            self._send(200, done)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _lines(self, lines: list[dict[str, Any]]) -> None:
        data = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        self.send_response(200)
        self.send_header("content-type", "application/x-ndjson")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description="A stand-in for Ollama's /api/chat.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11500)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"a stand-in for Ollama on http://{args.host}:{server.server_port}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
