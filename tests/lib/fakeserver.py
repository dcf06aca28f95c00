"""Start one of the fake API servers (tests/fakes/fake_*.py) and talk to its /_test/ control API.

    with FakeServer("fake_do.py", certs_dir, "--fixed-credential", "u:p") as fake:
        env["DIGITALOCEAN_API_URL"] = fake.url
        fake.control("GET", "requests")

certs_dir holds server.pem / server.key (tests/lib/mkca.sh makes them); plain=True serves http.
"""
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.request

FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes")


class FakeServer:
    def __init__(self, script, certs_dir, *args, cert="server", plain=False):
        tls = [] if plain else ["--cert", os.path.join(certs_dir, cert + ".pem"),
                                "--key", os.path.join(certs_dir, cert + ".key")]
        self.plain = plain
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(FAKES, script), "--port", "0"]
            + (["--plain"] if plain else tls) + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        match = re.fullmatch(r"READY (\d+)\n", line)
        if not match:
            self.stop()
            raise RuntimeError("%s did not start: %r" % (script, line))
        self.port = int(match.group(1))
        self.url = "%s://127.0.0.1:%d" % ("http" if plain else "https", self.port)
        # The control API is the test's, not the helper's: no certificate checks for it (fakes
        # started with a wrong-host or expired certificate must still answer it).
        self.context = None if plain else ssl._create_unverified_context()

    def control(self, method, path, value=None):
        data = json.dumps(value).encode() if value is not None else None
        req = urllib.request.Request(self.url + "/_test/" + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10, context=self.context) as resp:
            return json.loads(resp.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
