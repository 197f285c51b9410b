"""Runs posted Python code in a subprocess and returns its output."""
import http.server
import json
import subprocess
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"ok": True})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        code = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        try:
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
            self._send(200, {"stdout": p.stdout, "stderr": p.stderr, "exit": p.returncode})
        except subprocess.TimeoutExpired:
            self._send(408, {"error": "timeout"})

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
