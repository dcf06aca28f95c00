"""Fixtures for the end-to-end client tests: a test CA, real registries, an OCI image, dockerd.

Everything lives in temporary directories and on 127.0.0.1. Each fixture runs in a process
group of its own; stop() ends the group, and any fixture not stopped is stopped at interpreter
exit (atexit), so nothing is left running even when a test or a setUpClass fails half way.

    ca = make_ca(dir)                                   # ca.pem, server.pem, server.key, certs/ca.crt
    with Registry(ca, users={"alice": "s3cret"}) as reg:  # TLS + htpasswd (bcrypt) auth
        reg.host                                        # "127.0.0.1:PORT"
        reg.add_user("bob", "pw")                       # password via stdin, never argv
        reg.manifest_digest("e2e/app", "1", auth=("alice", "s3cret"))
    Registry(ca)                                        # no users: no auth at all (public)
    build_oci_image(dir, tag="latest")                  # -> manifest digest
    with Dockerd(parent=dir) as d: d.host               # "unix:///.../docker.sock"
"""
import atexit
import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time

# Every client call (and fixture command) is bounded by this, so nothing hangs the suite.
TIMEOUT = 120

# --- process bookkeeping -------------------------------------------------------------------

_live = []  # fixtures started and not stopped yet, for kill_leftovers()


def _terminate(proc, group, grace=10.0):
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; with group, the whole process group."""
    def send(sig):
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        send(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    # The leader may be gone while members of its group (dockerd's containerd) live on.
    if group:
        for pid in _group_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _group_members(pgid):
    """Live (non-zombie) processes in process group pgid, found in /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state, fields[2] the process group
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


@atexit.register
def kill_leftovers():
    """Stop every fixture started here and not stopped yet (the atexit and ^C paths)."""
    for fixture in reversed(list(_live)):
        fixture.stop()


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, **kw):
    """subprocess.run with the suite's defaults: captured text output, bounded time."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", TIMEOUT)
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(argv, text=True, **kw)


# --- a throwaway CA ------------------------------------------------------------------------

class CA:
    def __init__(self, dir):
        self.dir = dir
        self.ca_pem = os.path.join(dir, "ca.pem")
        self.server_pem = os.path.join(dir, "server.pem")
        self.server_key = os.path.join(dir, "server.key")
        # A directory in the layout containers/image wants for --cert-dir: *.crt are CAs.
        self.cert_dir = os.path.join(dir, "certs")

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_pem)


def make_ca(dir):
    """Make a test CA and a server certificate for localhost/127.0.0.1/::1 in dir (EC P-256)."""
    os.makedirs(dir, exist_ok=True)
    ca = CA(dir)

    def ossl(*args):
        r = run(["openssl"] + list(args), cwd=dir)
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed:\n%s" % (args[0], r.stderr))

    ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key")
    ossl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2", "-out", "ca.pem",
         "-subj", "/CN=docker-credential e2e test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "server.key")
    ossl("req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr")
    with open(os.path.join(dir, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-sha256",
         "-days", "2", "-set_serial", "0x" + os.urandom(16).hex(), "-extfile", "server.ext",
         "-out", "server.pem")
    os.makedirs(ca.cert_dir, exist_ok=True)
    shutil.copy(ca.ca_pem, os.path.join(ca.cert_dir, "ca.crt"))
    return ca


# --- the registry --------------------------------------------------------------------------

MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


class Registry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port> with TLS.

    With users: htpasswd (bcrypt) auth, which in distribution is all or nothing: every request
    needs credentials. Without users: no auth at all, anonymous pulls and pushes.
    """

    def __init__(self, ca, users=None, binary="docker-registry", parent=None):
        self.ca = ca
        self.parent = parent
        self.users = dict(users or {})
        self.auth = bool(self.users)
        self.binary = binary
        self.dir = None
        self.proc = None
        self.port = None

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        _live.append(self)
        self.dir = tempfile.mkdtemp(prefix="e2e-registry-", dir=self.parent)
        self.htpasswd = os.path.join(self.dir, "htpasswd")
        self.log = os.path.join(self.dir, "registry.log")
        for user, password in self.users.items():
            self.add_user(user, password)
        last = None
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            try:
                self._start_once()
                return self
            except RuntimeError as e:
                last = e
        self.stop()
        raise last

    def _start_once(self):
        config = os.path.join(self.dir, "config.yml")
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % os.path.join(self.dir, "data"),
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: 127.0.0.1:%d" % self.port,
            "  secret: %s" % os.urandom(16).hex(),
            "  tls:",
            "    certificate: %s" % self.ca.server_pem,
            "    key: %s" % self.ca.server_key,
        ]
        if self.auth:
            lines += ["auth:", "  htpasswd:", "    realm: e2e", "    path: %s" % self.htpasswd]
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        logf = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen([self.binary, "serve", config], stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            logf.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                status, _, _ = self.request("GET", "/v2/")
                if status == (401 if self.auth else 200):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        _terminate(self.proc, True, grace=2)
        self.proc = None
        raise RuntimeError("docker-registry did not become ready on %s:\n%s"
                           % (self.port, _tail(self.log)))

    def stop(self):
        if self.proc is not None:
            _terminate(self.proc, True)
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self in _live:
            _live.remove(self)

    def add_user(self, user, password):
        """Add (or change) a user; htpasswd reads the password from stdin, never from argv.
        distribution 2.8 rereads the file when its modification time changes."""
        argv = ["htpasswd", "-i", "-B"]
        if not os.path.exists(self.htpasswd):
            argv.append("-c")
        r = run(argv + [self.htpasswd, user], input=password)
        if r.returncode != 0:
            raise RuntimeError("htpasswd failed: %s" % r.stderr)
        self.users[user] = password

    # -- talking to it directly, to check what the clients did ------------------------------
    def request(self, method, path, auth=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                           context=self.ca.ssl_context())
        try:
            h = dict(headers or {})
            if auth:
                h["Authorization"] = "Basic " + base64.b64encode(
                    ("%s:%s" % auth).encode()).decode()
            conn.request(method, path, headers=h)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def manifest_digest(self, repo, ref, auth=None):
        """The digest the registry serves for repo:ref, or None if it has no such manifest."""
        status, headers, _ = self.request("HEAD", "/v2/%s/manifests/%s" % (repo, ref), auth=auth,
                                          headers={"Accept": MANIFEST_TYPES})
        if status == 404:
            return None
        if status != 200:
            raise AssertionError("HEAD manifest %s:%s -> HTTP %d" % (repo, ref, status))
        return headers.get("Docker-Content-Digest")


# --- a tiny OCI image, made by hand --------------------------------------------------------

def _blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "wb") as f:
        f.write(data)
    return digest, len(data)


def build_oci_image(layout, tag="latest", content=b"hello from the e2e suite\n"):
    """Write an OCI image layout in `layout` with one image, one gzip layer holding /hello.txt.

    Deterministic (fixed mtimes), offline, no tool but Python. Returns the manifest digest.
    """
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = tar_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    layer_digest, layer_size = _blob(layout, gzip.compress(tar_bytes, mtime=0))
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "e2e build_oci_image"}],
    }
    config_digest, config_size = _blob(layout, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size,
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return manifest_digest


# --- a private dockerd ---------------------------------------------------------------------

class DockerdUnavailable(Exception):
    """dockerd cannot run here at all (not installed, not root); the message says why.
    A dockerd that is there but fails to start raises RuntimeError instead."""


RUN_DOCKER = "/run/docker"


class Dockerd:
    """A private dockerd (root only): its own config, data/exec roots, socket, trust key; no
    iptables, no bridge. `host` is the value for DOCKER_HOST.

    dockerd always treats 127.0.0.0/8 registries as insecure: https without certificate
    verification, then plain http. /etc/docker/certs.d is read for secure registries only, so
    there is nothing to install for a registry on loopback.
    """

    def __init__(self, binary="dockerd", env=None, parent=None):
        self.binary = binary
        self.env = env
        self.parent = parent
        self.dir = None
        self.proc = None
        self.made_run_docker = False

    @property
    def host(self):
        return "unix://" + self.sock

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=60):
        if os.geteuid() != 0:
            raise DockerdUnavailable("dockerd needs root here (rootless dockerd is not set up)")
        path = shutil.which(self.binary, path=(self.env or os.environ).get("PATH"))
        if not path:
            raise DockerdUnavailable("%s is not installed" % self.binary)
        _live.append(self)
        self.dir = tempfile.mkdtemp(prefix="e2e-dockerd-", dir=self.parent)
        # dockerd always makes /run/docker/plugins (a fixed path); remove it after if we made it.
        self.made_run_docker = not os.path.exists(RUN_DOCKER)
        self.sock = os.path.join(self.dir, "docker.sock")
        self.log = os.path.join(self.dir, "dockerd.log")
        config = os.path.join(self.dir, "daemon.json")
        with open(config, "w") as f:
            # Without this 20.10 creates /etc/docker/key.json (the "deprecated" trust key; this
            # config key has no command-line flag).
            json.dump({"deprecated-key-path": os.path.join(self.dir, "key.json")}, f)
        argv = [path, "--config-file", config,
                "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--storage-driver=vfs",
                "--exec-opt", "native.cgroupdriver=cgroupfs",
                "--data-root", os.path.join(self.dir, "data"),
                "--exec-root", os.path.join(self.dir, "exec"),
                "--pidfile", os.path.join(self.dir, "dockerd.pid"),
                "-H", "unix://" + self.sock]
        logf = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, env=self.env, cwd=self.dir,
                                         start_new_session=True)
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self._ping():
                return self
            time.sleep(0.1)
        reason = ("exited with status %s" % self.proc.returncode
                  if self.proc.poll() is not None else "not ready after %ds" % timeout)
        log = _tail(self.log)
        self.stop()
        raise RuntimeError("dockerd %s:\n%s" % (reason, log))

    def _ping(self):
        if not os.path.exists(self.sock):
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(self.sock)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0] \
                and data.endswith(b"OK")
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc is not None:
            # SIGTERM lets dockerd stop its containerd and undo its mounts; SIGKILL only after
            # 20 s. containerd runs in a session of its own, but dies with dockerd (parent-death
            # signal); make sure of it anyway.
            _terminate(self.proc, True, grace=20)
            self.proc = None
            self._kill_containerd()
        if self.dir:
            # dockerd bind-mounts --data-root onto itself and undoes that only on a clean
            # shutdown: a dockerd killed during start-up leaves it behind.
            _unmount_under(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self.made_run_docker:
            for d in (os.path.join(RUN_DOCKER, "plugins"), RUN_DOCKER):
                try:
                    os.rmdir(d)  # only ever removes an empty directory
                except OSError:
                    pass
            self.made_run_docker = False
        if self in _live:
            _live.remove(self)


    def _kill_containerd(self):
        exec_root = os.path.join(self.dir, "exec")
        try:
            with open(os.path.join(exec_root, "containerd", "containerd.pid")) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                ours = exec_root.encode() in f.read()
        except (OSError, ValueError):
            return
        if ours:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _unmount_under(dir):
    try:
        with open("/proc/self/mounts") as f:
            points = [line.split()[1] for line in f]
    except OSError:
        return
    prefix = os.path.realpath(dir) + "/"
    for p in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
