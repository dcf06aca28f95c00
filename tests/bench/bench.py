#!/usr/bin/env python3
"""The benchmark: docker-credential-keyring ("ours", --bin) against the reference helper
(Debian's docker-credential-secretservice), each against its own private gnome-keyring holding
the same entries. A benchmark, not a test: it never asserts; it prints a markdown table with a
target and PASS/MISS per row, and (--json) every measurement.

    tests/bench/run [--bin PATH] [--sizes 10,100,1000,3000] [--pairs 30] [--warmup 3]
                    [--only KEY,...] [--json PATH] [--quick]

Method (docs/performance.md, "How the benchmark measures"):
- Interleaved pairs. Every row is a series of pairs, one call of ours and one of the
  reference, in ABBA order (ours, ref, ref, ours, ours, ref, ...), so that drift of the machine
  (other load, CPU frequency, the daemons' own state) falls on both sides alike. The first
  --warmup pairs are dropped. Per pair the ratio ours/ref; a row reports the median, minimum
  and maximum of those ratios, and the median milliseconds of each side.
- One call is one process started by bench-spawn (spawn.c): posix_spawn to wait4, stdin from a
  file, stdout to /dev/null, peak RSS from wait4's rusage.
- The keyrings. For each size N one template keyring is made (N/2 entries as ours writes them,
  N/2 as the reference writes them: same schemas, attributes and labels). Each helper gets a private session (bus + gnome-keyring)
  started from a copy of it, and `list` runs in a third copy that both helpers list.
- First means first: before such a call the kernel keyring keys whose description names that
  server are invalidated (ours keeps none for a login in the Secret Service; this guards the
  measurement); misses use a name never asked before.
"""
import argparse
import ctypes
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, HERE)
import keyring  # noqa: E402
import minibus  # noqa: E402
from fill import encrypt as _encrypt, keyrings_dir, plain_keyring  # noqa: E402
from keyring import KeyringSession  # noqa: E402

REF = "docker-credential-secretservice"
OURS_SCHEMA = "io.github.docker-credential-keyring"
REF_SCHEMA = "io.docker.Credentials"
DO_HOST = "registry.digitalocean.com"
DO_TOKEN = "dop_v1_benchtoken"
# Variables either helper reads: the caller's own must not leak into the measurement.
FOREIGN_ENV = ("DOCKER_CREDENTIAL_KEYRING_", "DIGITALOCEAN_", "RANCHER_", "CATTLE_", "SSL_CERT_",
               "CURL_CA_BUNDLE", "LD_PRELOAD", "LD_LIBRARY_PATH")

# key: (label, target ratio or None, sizes the target applies to or None for all)
ROWS = [
    ("hit_first", "`get` hit, first `get` of that server", 0.25, None),
    ("hit_restart", "`get` hit, first after gnome-keyring starts", 0.25, None),
    # There is no cache in front of the keyring: a repeated get reads it like the first one.
    # The target is the one set for the kernel cache that was removed (docs/performance.md).
    ("hit_again", "`get` hit, the same server again (no cache: read from the keyring)", 0.15,
     None),
    ("miss_first", "`get` miss, first", 0.5, None),
    ("miss_again", "`get` miss, the same name again", 0.5, None),
    ("store_new", "`store`, new server", 1.1, {1000}),
    ("store_over", "`store`, overwrite (same server again)", 1.1, {1000}),
    ("erase", "`erase` of an existing entry", 1.1, {1000}),
    ("list", "`list`, one keyring shared (ours lists all N, the reference its N/2)", 0.15, None),
    ("version", "`version`", None, None),
    ("rss", "peak RSS, `get` hit", 0.6, None),
    ("floor", "floor: `get` hit over the raw bus socket, no GLib (floor.c) vs reference", None,
     None),
    ("source_cold", "cold source-backed `get` (DigitalOcean fake) vs `curl`", 1.5, None),
    ("source_warm", "warm source-backed `get`: API requests", 0, None),
    ("spawn", "spawn floor: `/bin/true` (time; RSS = the launcher's floor)", None, None),
]
ROW_KEYS = [r[0] for r in ROWS]


# ---- small helpers ------------------------------------------------------------------------

def say(*args):
    print(*args, file=sys.stderr, flush=True)


def clean_env(env):
    return {k: v for k, v in env.items() if not k.startswith(FOREIGN_ENV)}


def text_of(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def ms(x):
    if x is None:
        return "–"
    if x < 10:
        return "%.2f ms" % x
    if x < 1000:
        return "%.1f ms" % x
    return "{:,.0f} ms".format(x)


def mb(kib):
    return "%.1f MB" % (kib / 1024)


def ratio_text(r):
    if r is None:
        return "–"
    return "%.3f" % r if r < 0.1 else "%.2f" % r


class Call:
    __slots__ = ("ms", "rss", "rc", "bad", "err")

    def __init__(self, ms_, rss, rc, bad, err):
        self.ms, self.rss, self.rc, self.bad, self.err = ms_, rss, rc, bad, err


class Tools:
    """bench-spawn and bench-floor, compiled with cc into a private directory."""

    def __init__(self, tmp):
        self.dir = tmp
        self.spawn = os.path.join(tmp, "bench-spawn")
        self.floor = os.path.join(tmp, "bench-floor")
        cc = os.environ.get("CC", "cc")
        flags = ["-O2", "-Wall", "-Wextra"]
        # Static, so that its own address space (charged to each child's peak RSS) is tiny.
        if subprocess.run([cc] + flags + ["-static", "-o", self.spawn,
                                          os.path.join(HERE, "spawn.c")]).returncode:
            say("note: no static libc; bench-spawn linked dynamically (RSS floor a little higher)")
            subprocess.run([cc] + flags + ["-o", self.spawn, os.path.join(HERE, "spawn.c")],
                           check=True)
        subprocess.run([cc] + flags + ["-o", self.floor, os.path.join(HERE, "floor.c")],
                       check=True)
        self.stdin = os.path.join(tmp, "stdin")
        self.stderr = os.path.join(tmp, "stderr")

    def run(self, argv, env, stdin=b"", expect=0):
        with open(self.stdin, "wb") as f:
            f.write(stdin)
        p = subprocess.run([self.spawn, self.stdin, self.stderr] + argv, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ns, rss, rc = (int(x) for x in p.stdout.split())
        except ValueError:
            raise RuntimeError("bench-spawn failed for %s: %s" % (argv[0], p.stderr.decode()))
        err = ""
        if rc != expect:
            with open(self.stderr, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            err = lines[-1] if lines else ""
        return Call(ns / 1e6, rss, rc, rc != expect, err)


# ---- the kernel keyring: ours' cache, emptied where a call must be cold ------------------------

def _keys_matching(needle):
    try:
        with open("/proc/keys", "rb") as f:  # bytes: other programs' descriptions need not be UTF-8
            return [int(line.split()[0], 16) for line in f if needle in line]
    except OSError:
        return []


def forget_keys(needle):
    """Invalidates every kernel key (of ours: cached entries, notes) whose description
    contains needle (bytes): the server of a call that must be cold."""
    nr = keyring.KEYCTL.get(os.uname().machine)
    if nr is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for key in _keys_matching(needle):
        libc.syscall(nr, keyring.KEYCTL_INVALIDATE, ctypes.c_long(key))


def stop_session(ks):
    """KeyringSession.stop, but the session's kernel keys are forgotten here: keyring.py reads
    /proc/keys as UTF-8 text and fails when another test left a key with a binary name."""
    addr = ks.env.get("DBUS_SESSION_BUS_ADDRESS", "") if ks.env else ""
    if addr:
        h = 1469598103934665603
        for b in addr.encode():
            h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        forget_keys(b"docker-credential-keyring:v1:%016x" % h)
        ks.env["DBUS_SESSION_BUS_ADDRESS"] = ""
    ks.stop()


# ---- the keyrings ---------------------------------------------------------------------------

def ours_server(i):
    return "registry-%04d.ours.bench.example" % i


def ref_server(i):
    return "registry-%04d.ref.bench.example" % i


def secret_of(server):
    return "tok-" + hashlib.sha256(server.encode()).hexdigest()[:40]


def entries(n):
    """The N entries of a size: (label, attributes, secret), ours and the reference's in turn,
    exactly as each helper writes them (checked against a helper-written item by hand and by
    the validation gets below)."""
    out = []
    for i in range(n):
        k = i // 2
        if i % 2 == 0:
            s = ours_server(k)
            out.append(("Registry login for " + s,
                        {"xdg:schema": OURS_SCHEMA, "server": s, "username": "user-%04d" % k,
                         "origin": "login", "expires": "0"}, secret_of(s)))
        else:
            s = ref_server(k)
            out.append((s, {"xdg:schema": REF_SCHEMA, "label": "Docker Credentials", "server": s,
                            "username": "user-%04d" % k, "docker_cli": "1"}, secret_of(s)))
    return out


def _fill_slowly(ks, items):
    """The fallback: every item through CreateItem on one connection. gnome-keyring rewrites
    its whole file per item, so this is quadratic: about 30 s for 1,000 entries."""
    w = minibus.SecretWriter(ks.env["DBUS_SESSION_BUS_ADDRESS"])
    try:
        w.create((label, attrs, secret.encode()) for label, attrs, secret in items)
    finally:
        w.close()


def make_template(n, dest, ours, notes):
    """Writes the keyring of size n (encrypted) to dest."""
    items = entries(n)
    t = time.monotonic()
    ks = KeyringSession().start()
    try:
        ks.kill_keyring()
        with open(os.path.join(keyrings_dir(ks), "login.keyring"), "w") as f:
            f.write(plain_keyring(items))
        ks.restart_keyring()
        try:
            _encrypt(ks)
            ks.restart_keyring()
        except (minibus.DBusError, OSError) as e:
            notes.append("N=%d: the quick fill failed (%s); filled through CreateItem" % (n, e))
            stop_session(ks)
            ks = KeyringSession().start()
            _fill_slowly(ks, items)
        with open(os.path.join(keyrings_dir(ks), "login.keyring"), "rb") as f:
            if not f.read(16).startswith(b"GnomeKeyring"):
                notes.append("N=%d: the template keyring is not encrypted" % n)
        made = time.monotonic() - t
        ks.kill_keyring()
        shutil.copytree(keyrings_dir(ks), dest)
    finally:
        stop_session(ks)
    say("  template keyring with %d entries: %.1f s" % (n, made))


def check_list(argv, env, want, who, notes):
    p = subprocess.run(argv + ["list"], env=env, capture_output=True, timeout=600)
    try:
        got = len(json.loads(p.stdout))
    except ValueError:
        got = -1
    if got != want:
        notes.append("%s lists %d entries, expected %d" % (who, got, want))
    return got


def check_get(argv, env, server, notes, who):
    p = subprocess.run(argv + ["get"], env=env, input=server.encode(), capture_output=True,
                       timeout=60)
    try:
        ans = json.loads(p.stdout)
    except ValueError:
        ans = None
    if p.returncode != 0 or not ans or ans.get("Secret") != secret_of(server):
        notes.append("%s: get %s gave %r (exit %d)" % (who, server, p.stdout[:80],
                                                         p.returncode))


def open_session(template):
    ks = KeyringSession().start()
    ks.kill_keyring()
    shutil.rmtree(keyrings_dir(ks))
    shutil.copytree(template, keyrings_dir(ks))
    ks.restart_keyring()
    return ks


# ---- pairs ----------------------------------------------------------------------------------

def pairs(a, b, n, warmup, before=None):
    """n interleaved pairs after warmup dropped ones, ABBA: pair k runs a then b for even k and
    b then a for odd k. a(k), b(k) return {key: Call}; the result is {key: [(a, b), ...]}."""
    out = {}
    for k in range(warmup + n):
        if before:
            before(k)
        if k % 2 == 0:
            ra = a(k)
            rb = b(k)
        else:
            rb = b(k)
            ra = a(k)
        if k >= warmup:
            for key in ra:
                out.setdefault(key, []).append((ra[key], rb[key]))
    return out


def summarize(key, size, series, field="ms", ref_label=None):
    """A table row from a series of (ours, ref) pairs."""
    label, target, sizes = next((lbl, t, s) for k, lbl, t, s in ROWS if k == key)
    o = [getattr(x, field) for x, _ in series]
    r = [getattr(y, field) for _, y in series]
    ratios = [x / y for x, y in zip(o, r) if y]
    bad = [c for pair in series for c in pair if c.bad]
    row = {"key": key, "case": label, "entries": size, "pairs": len(series), "unit": field,
           "ours": statistics.median(o), "ref": statistics.median(r),
           "ratio": statistics.median(ratios) if ratios else None,
           "ratio_min": min(ratios) if ratios else None,
           "ratio_max": max(ratios) if ratios else None,
           "target": target, "target_sizes": sorted(sizes) if sizes else None,
           "ours_all": o, "ref_all": r, "ratios": ratios,
           "bad_calls": len(bad), "bad_example": ("exit %d: %s" % (bad[0].rc, bad[0].err))
           if bad else "", "ref_label": ref_label}
    row["result"] = judge(row, size)
    return row


def judge(row, size):
    if row["bad_calls"]:
        return "INVALID (%d calls exited wrongly)" % row["bad_calls"]
    t, sizes = row["target"], row["target_sizes"]
    if t is None or (sizes and size not in sizes) or row["ratio"] is None:
        return "–"
    return "PASS" if row["ratio"] <= t else "MISS"


# ---- the rows of one size -----------------------------------------------------------------

class Bench:
    def __init__(self, args, tools, ours, ref):
        self.a, self.tools, self.ours, self.ref = args, tools, ours, ref
        self.rows, self.notes = [], []
        self.fake = None
        self.ca = None

    def want(self, *keys):
        return any(k in self.a.only for k in keys)

    def get(self, argv, env, server, expect):
        return self.tools.run(argv + ["get"], env, server.encode(), expect)

    def size(self, n, template):
        A, T = self.a, self.tools
        ko, kr, kl = open_session(template), open_session(template), open_session(template)
        try:
            eo, er, el = clean_env(ko.env), clean_env(kr.env), clean_env(kl.env)
            own = max(1, n // 2)
            srv_o = lambda k: ours_server(k % own)  # noqa: E731
            srv_r = lambda k: ref_server(k % own)  # noqa: E731
            check_get(self.ours, eo, srv_o(0), self.notes, "ours N=%d" % n)
            check_get(self.ref, er, srv_r(0), self.notes, "reference N=%d" % n)
            P, W = A.pairs, A.warmup

            def cold(argv, env, srv, expect=0):
                def f(k):
                    forget_keys(srv(k).encode())
                    return {"x": self.get(argv, env, srv(k), expect)}
                return f

            def hit_rows(key, env_o):
                say("  %s" % key)
                s = pairs(cold(self.ours, env_o, srv_o), cold(self.ref, er, srv_r), P, W)["x"]
                return s

            if self.want("hit_first", "rss"):
                s = hit_rows("hit_first", eo)
                self.add(summarize("hit_first", n, s))
                self.add(summarize("rss", n, s, "rss"))
            if self.want("hit_restart"):
                say("  hit_restart")

                def restart(k):
                    ko.restart_keyring()
                    kr.restart_keyring()
                s = pairs(cold(self.ours, eo, srv_o), cold(self.ref, er, srv_r),
                          A.restart_pairs, min(W, 1), before=restart)["x"]
                self.add(summarize("hit_restart", n, s))
            if self.want("hit_again"):
                say("  hit_again")

                def warm(argv, env, srv):
                    def f(k):
                        forget_keys(srv(k).encode())
                        self.get(argv, env, srv(k), 0)
                        return {"x": self.get(argv, env, srv(k), 0)}
                    return f
                s = pairs(warm(self.ours, eo, srv_o), warm(self.ref, er, srv_r), P, W)["x"]
                self.add(summarize("hit_again", n, s))
            for key, twice in (("miss_first", False), ("miss_again", True)):
                if not self.want(key):
                    continue
                say("  %s" % key)

                def miss(argv, env, side, key=key, twice=twice):
                    def f(k):
                        # A name never asked before: no cache can know it.
                        srv = "missing-%s-%d-%s.%s.bench.example" % (key, n, k, side)
                        if twice:
                            self.get(argv, env, srv, 1)
                        return {"x": self.get(argv, env, srv, 1)}
                    return f
                s = pairs(miss(self.ours, eo, "ours"), miss(self.ref, er, "ref"), P, W)["x"]
                self.add(summarize(key, n, s))
            if self.want("store_new", "store_over", "erase"):
                say("  store_new, store_over, erase")

                def cycle(argv, env, side):
                    def f(k):
                        srv = "new-%d-%d.%s.bench.example" % (n, k, side)
                        cred = {"ServerURL": srv, "Username": "new-user", "Secret": secret_of(srv)}
                        first = json.dumps(cred).encode()
                        cred["Secret"] = secret_of(srv + "again")
                        again = json.dumps(cred).encode()
                        return {"store_new": T.run(argv + ["store"], env, first),
                                "store_over": T.run(argv + ["store"], env, again),
                                "erase": T.run(argv + ["erase"], env, srv.encode())}
                    return f
                s = pairs(cycle(self.ours, eo, "ours"), cycle(self.ref, er, "ref"), P, W)
                for key in ("store_new", "store_over", "erase"):
                    self.add(summarize(key, n, s[key]))
            if self.want("list"):
                say("  list")
                check_list(self.ours, el, n, "ours N=%d" % n, self.notes)
                check_list(self.ref, el, n // 2, "reference N=%d" % n, self.notes)
                s = pairs(lambda k: {"x": T.run(self.ours + ["list"], el)},
                          lambda k: {"x": T.run(self.ref + ["list"], el)},
                          A.list_pairs, min(W, 1))["x"]
                self.add(summarize("list", n, s))
            if self.want("version"):
                say("  version")
                s = pairs(lambda k: {"x": T.run(self.ours + ["version"], eo)},
                          lambda k: {"x": T.run(self.ref + ["version"], er)}, P, W)["x"]
                self.add(summarize("version", n, s))
            if self.want("floor"):
                say("  floor")
                s = pairs(lambda k: {"x": T.run([T.floor], eo, srv_o(k).encode())},
                          cold(self.ref, er, srv_r), P, W)["x"]
                self.add(summarize("floor", n, s))
            if self.want("source_cold", "source_warm"):
                self.source(n, eo)
        finally:
            for ks in (ko, kr, kl):
                stop_session(ks)

    def source(self, n, env_keyring):
        if self.fake is None:
            self.notes.append("source rows skipped: %s" % self.fake_skip)
            return
        say("  source_cold, source_warm")
        T, fake = self.tools, self.fake
        env = dict(env_keyring, DIGITALOCEAN_API_URL=fake.url,
                   DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=fake.url, SSL_CERT_FILE=self.ca,
                   DIGITALOCEAN_ACCESS_TOKEN=DO_TOKEN)
        host = DO_HOST.encode()
        # One get first, for the exact request it makes: curl makes the same one.
        T.run(self.ours + ["erase"], env, host)
        T.run(self.ours + ["get"], env, host)
        reqs = [r for r in fake.control("GET", "requests") if r["path"].startswith("/v2/")]
        if not reqs:
            self.notes.append("N=%d: the source-backed get made no API request" % n)
            return
        req = reqs[-1]
        url = fake.url + req["path"] + ("?" + req["raw_query"] if req.get("raw_query") else "")
        # The token from a file, not argv (curl reads "-H @file" since 7.55); -f: an HTTP error
        # is an exit status, so a curl that got a quick 401 makes the row INVALID, not fast.
        headers = os.path.join(self.tools.dir, "curl-headers")
        with open(headers, "w") as f:
            f.write("Authorization: Bearer %s\n" % DO_TOKEN)
        curl = [shutil.which("curl"), "-fsS", "-o", "/dev/null", "--cacert", self.ca,
                "-H", "@" + headers, url]

        def ours_cold(k):
            # Erased (and revoked at the fake) before, so that the get finds neither a keyring
            # entry nor a kernel-cache copy or note: one API request. Erased after too, which
            # waits for the write-behind child, so that the next call has the machine to itself.
            T.run(self.ours + ["erase"], env, host)
            c = T.run(self.ours + ["get"], env, host)
            T.run(self.ours + ["erase"], env, host)
            return {"x": c}
        s = pairs(ours_cold, lambda k: {"x": T.run(curl, env)}, self.a.pairs, self.a.warmup)["x"]
        self.add(summarize("source_cold", n, s, ref_label="curl"))
        T.run(self.ours + ["get"], env, host)
        before = len(fake.control("GET", "requests"))
        warm = [T.run(self.ours + ["get"], env, host) for _ in range(self.a.pairs)]
        count = len(fake.control("GET", "requests")) - before
        bad = [c for c in warm if c.bad]
        self.add({"key": "source_warm", "case": ROWS[ROW_KEYS.index("source_warm")][1],
                  "entries": n, "pairs": len(warm), "unit": "requests",
                  "ours": statistics.median(c.ms for c in warm), "ref": None, "ratio": None,
                  "ratio_min": None, "ratio_max": None, "target": 0, "target_sizes": None,
                  "requests": count, "ours_all": [c.ms for c in warm], "bad_calls": len(bad),
                  "bad_example": bad[0].err if bad else "",
                  "result": ("INVALID (%d calls exited wrongly)" % len(bad)) if bad
                  else ("PASS" if count == 0 else "MISS")})
        T.run(self.ours + ["erase"], env, host)

    def spawn_floor(self):
        calls = [self.tools.run(["/bin/true"], clean_env(os.environ)) for _ in range(
            self.a.pairs + self.a.warmup)][self.a.warmup:]
        self.add({"key": "spawn", "case": ROWS[ROW_KEYS.index("spawn")][1], "entries": None,
                  "pairs": len(calls), "unit": "ms", "ours": statistics.median(c.ms for c in calls),
                  "rss": statistics.median(c.rss for c in calls), "ref": None, "ratio": None,
                  "ratio_min": None, "ratio_max": None, "target": None, "target_sizes": None,
                  "bad_calls": 0, "result": "–"})

    def add(self, row):
        self.rows.append(row)
        if row.get("bad_calls"):
            self.notes.append("%s, N=%s: %d calls exited wrongly, e.g. %s" % (
                row["key"], row["entries"], row["bad_calls"], row["bad_example"]))

    def start_fake(self, tmp):
        """The fake DigitalOcean API (TLS, a throwaway CA) for the source rows, if ours has the
        source built in and curl is there."""
        from fakeserver import FakeServer
        self.fake_skip = None
        helptext = subprocess.run(self.ours + ["--help"], capture_output=True).stdout.lower()
        if b"digitalocean" not in helptext:
            self.fake_skip = "the DigitalOcean source is not built in"
        elif not shutil.which("curl"):
            self.fake_skip = "no curl"
        if self.fake_skip:
            return
        certs = os.path.join(tmp, "certs")
        os.mkdir(certs)
        subprocess.run(["sh", os.path.join(ROOT, "tests", "lib", "mkca.sh"), certs], check=True,
                       timeout=60, stdout=subprocess.DEVNULL)
        self.ca = os.path.join(certs, "ca.pem")
        self.fake = FakeServer("fake_do.py", certs, "--quiet", "--token", DO_TOKEN)

    def stop_fake(self):
        if self.fake:
            self.fake.stop()


# ---- output ---------------------------------------------------------------------------------

def row_cells(r):
    if r["key"] == "spawn":
        return [r["case"], "–", "%s, %s" % (ms(r["ours"]), mb(r["rss"])), "–", "–", "–", "–",
                str(r["pairs"]), "–", "–"]
    if r["key"] == "source_warm":
        return [r["case"], "{:,}".format(r["entries"]),
                "%s, %d requests" % (ms(r["ours"]), r["requests"]), "–", "–", "–", "–",
                str(r["pairs"]), "0 requests", r["result"]]
    fmt = mb if r["unit"] == "rss" else ms
    ref = fmt(r["ref"])
    if r.get("ref_label"):
        ref = "%s %s" % (r["ref_label"], ref)
    target = "–"
    if r["target"] is not None:
        target = "≤ %s" % r["target"]
        if r["target_sizes"]:
            target += " at " + ", ".join("{:,}".format(s) for s in r["target_sizes"])
    return [r["case"], "{:,}".format(r["entries"]), fmt(r["ours"]), ref,
            ratio_text(r["ratio"]), ratio_text(r["ratio_min"]), ratio_text(r["ratio_max"]),
            str(r["pairs"]), target, r["result"]]


def table(rows):
    head = ["case", "entries", "ours", "reference", "ours / ref (median)", "min", "max", "pairs",
            "target", "result"]
    order = {k: i for i, k in enumerate(ROW_KEYS)}
    rows = sorted(rows, key=lambda r: (order[r["key"]], r["entries"] or 0))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def machine_facts(a, ours, ref):
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    # The build the binary comes from (build/helper/<binary>): its type and source tree.
    cmake = {}
    cache = os.path.join(os.path.dirname(os.path.dirname(ours[0])), "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache) as f:
            cmake = dict(ln.strip().split("=", 1) for ln in f if "=" in ln and ln[0] not in "#/")
    build = cmake.get("CMAKE_BUILD_TYPE:STRING", "")
    source = cmake.get("CMAKE_HOME_DIRECTORY:INTERNAL", "")
    tree = text_of(["git", "-C", source, "describe", "--always", "--dirty"]) if source else ""
    if not tree.strip() or " " in tree:
        tree = "%s (not a git tree)" % source if source else "unknown"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(), "cpu_model": model, "kernel": os.uname().release,
        "loadavg_start": os.getloadavg(),
        "gnome_keyring": text_of(["gnome-keyring-daemon", "--version"]).split("\n")[0],
        "reference": ref[0], "reference_package": text_of(
            ["dpkg-query", "-W", "-f", "${Version}", "golang-docker-credential-helpers"]),
        "curl": " ".join(text_of(["curl", "--version"]).split()[:2]),
        "ours": ours[0], "ours_version": text_of(ours + ["version"]),
        "ours_build_type": build or "unknown",
        "ours_git": tree,
        "sizes": a.sizes, "pairs": a.pairs, "warmup": a.warmup, "list_pairs": a.list_pairs,
        "restart_pairs": a.restart_pairs,
    }


def header(m):
    return "\n".join([
        "Benchmark of %s (%s; build type %s; tree %s)" % (
            m["ours"], m["ours_version"], m["ours_build_type"], m["ours_git"]),
        "against %s (golang-docker-credential-helpers %s), %s." % (
            m["reference"], m["reference_package"] or "?", m["date"]),
        "Machine: %d CPUs (%s), kernel %s, %s, %s; load average at start %.2f %.2f %.2f, "
        "at end %.2f %.2f %.2f." % ((m["cpus"], m["cpu_model"], m["kernel"], m["gnome_keyring"],
                                     m["curl"]) + tuple(m["loadavg_start"]) +
                                    tuple(m["loadavg_end"])),
        "Method: interleaved pairs in ABBA order, warm-up pairs dropped: %d; pairs per row: %d "
        "(list %d, first-after-start %d, each with at most 1 warm-up pair); ratio per pair = "
        "ours / reference; median, min and max of the ratios; milliseconds are each side's "
        "median, process start included. PASS: the median ratio is at or under the target." % (
            m["warmup"], m["pairs"], m["list_pairs"], m["restart_pairs"]),
        ""])


# ---- main -----------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("DCK_BIN") or
                    os.path.join(ROOT, "build", "helper", "docker-credential-keyring"))
    ap.add_argument("--ref", default=shutil.which(REF) or "/usr/bin/" + REF)
    ap.add_argument("--sizes", default="10,100,1000,3000",
                    help="entries per keyring, comma-separated")
    ap.add_argument("--pairs", type=int, default=30, help="measured pairs per row")
    ap.add_argument("--warmup", type=int, default=3, help="pairs dropped before each row")
    ap.add_argument("--list-pairs", type=int, help="pairs for list (default pairs / 3, ≥ 5)")
    ap.add_argument("--restart-pairs", type=int,
                    help="pairs for the first get after gnome-keyring starts (default pairs / 3)")
    ap.add_argument("--only", help="row keys to run, comma-separated: " + ",".join(ROW_KEYS))
    ap.add_argument("--json", help="also write every measurement here")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: sizes 10 and 1000, 5 pairs, 1 warm-up pair")
    ap.add_argument("--runs", type=int, help=argparse.SUPPRESS)  # old name of --pairs
    ap.add_argument("--entries", help=argparse.SUPPRESS)  # old name of --sizes
    a = ap.parse_args(argv)
    if a.runs:
        a.pairs = a.runs
    if a.entries:
        a.sizes = a.entries
    if a.quick:
        a.sizes, a.pairs, a.warmup = "10,1000", 5, 1
    a.sizes = [int(s.replace("_", "")) for s in a.sizes.split(",") if s]
    if any(s < 2 for s in a.sizes) or a.pairs < 1 or a.warmup < 0:
        ap.error("sizes must be at least 2, pairs at least 1, warmup not negative")
    default = 3 if a.quick else max(5, a.pairs // 3)
    a.list_pairs = a.list_pairs or default
    a.restart_pairs = a.restart_pairs or default
    a.only = set(a.only.split(",")) if a.only else set(ROW_KEYS)
    unknown = a.only - set(ROW_KEYS)
    if unknown:
        ap.error("unknown row keys: %s" % ", ".join(sorted(unknown)))
    return a


def main(argv):
    a = parse_args(argv)
    ours = [os.path.abspath(a.bin)]
    ref = [a.ref]
    for path, what in ((ours[0], "--bin"), (ref[0], "the reference (golang-docker-credential-helpers)")):
        if not os.access(path, os.X_OK):
            sys.exit("%s: %s is not executable" % (what, path))
    facts = machine_facts(a, ours, ref)
    tmp = tempfile.mkdtemp(prefix="dck-bench-")
    os.chmod(tmp, 0o700)
    bench = Bench(a, Tools(tmp), ours, ref)
    if facts["ours_build_type"] not in ("Release", "RelWithDebInfo", "MinSizeRel"):
        bench.notes.append("ours' build type is %s: not the figures of a packaged binary" %
                           facts["ours_build_type"])
    try:
        if a.only & {"source_cold", "source_warm"}:
            bench.start_fake(tmp)
        for n in a.sizes:
            t = time.monotonic()
            say("%d entries" % n)
            template = os.path.join(tmp, "template-%d" % n)
            make_template(n, template, ours, bench.notes)
            bench.size(n, template)
            say("  %d entries: %.0f s" % (n, time.monotonic() - t))
        if "spawn" in a.only:
            bench.spawn_floor()
    finally:
        bench.stop_fake()
        shutil.rmtree(tmp, ignore_errors=True)
    facts["loadavg_end"] = os.getloadavg()
    print(header(facts))
    print(table(bench.rows))
    if bench.notes:
        print("\nNotes:")
        for line in bench.notes:
            print("- " + line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": facts, "rows": bench.rows, "notes": bench.notes}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
