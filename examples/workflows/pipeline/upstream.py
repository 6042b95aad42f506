"""A tiny quotes API for the pipeline example: ``GET /quotes?topic=<word>`` answers JSON.

Run it with ``python3 upstream.py --port 8931``; the workflow reads its address from the
``PIPELINE_UPSTREAM`` environment variable (default ``http://127.0.0.1:8931``).
"""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

QUOTES = {
    "simplicity": ("Simplicity is prerequisite for reliability.", "Edsger Dijkstra"),
    "programs": ("Programs must be written for people to read.", "Harold Abelson"),
    "debugging": ("Debugging is twice as hard as writing the code in the first place.", "Brian Kernighan"),
}


class Quotes(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        topic = parse_qs(url.query).get("topic", [""])[0]
        if url.path != "/quotes" or topic not in QUOTES:
            self.answer(404, {"error": f"no quote about {topic!r}"})
            return
        quote, author = QUOTES[topic]
        self.answer(200, {"topic": topic, "quote": quote, "author": author})

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"upstream: {self.command} {self.path} -> {args[1]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8931)
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), Quotes)
    print(f"upstream: serving quotes on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
