"""A tiny HTTP app: GET /hello?name=X answers JSON with the greeting baked in at build time."""

import getpass
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        name = parse_qs(url.query).get("name", ["World"])[0]
        body = json.dumps(
            {"message": f"{os.environ.get('GREETING', 'Hello')} {name}!", "user": getpass.getuser()}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
