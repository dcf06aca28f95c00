#!/usr/bin/env python3
"""A benchmark, not a test: docker-credential-keyring against the reference helper
(Debian's docker-credential-secretservice), each with its own private gnome-keyring filled with
the same entries. Prints per-call medians, ratios and peak RSS; it never asserts.

    tests/bench [--bin PATH] [--runs N] [--entries N]

The source row starts tests/fakes/fake_do.py (TLS, a throwaway CA from tests/lib/mkca.sh) and
compares a get for registry.digitalocean.com with a cold cache (erased before each run, not
timed) with the curl command line tool making the same request, the two taking turns; the
warm row counts the API requests warm gets make (0 is right).

Each call is one process started with posix_spawn, stdin from a file and stdout to /dev/null,
timed from spawn to exit (so both helpers pay the same harness cost); peak RSS comes from
wait4's rusage. As root on Debian it installs the reference with apt-get when it is missing."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from keyring import KeyringSession  # noqa: E402

MKCA = os.path.join(ROOT, "tests", "lib", "mkca.sh")
DO_HOST = "registry.digitalocean.com"
DO_TOKEN = "dop_v1_benchtoken"
REF = "docker-credential-secretservice"
HAVE_TIME = os.access("/usr/bin/time", os.X_OK)  # Debian: apt-get install time


def ensure_reference():
    if shutil.which(REF):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "golang-docker-credential-helpers"],
                       stdout=subprocess.DEVNULL, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which(REF) is not None


def spawn(argv, env, stdin_path):
    """One call: (seconds, peak RSS in KiB, exit status)."""
    fin = os.open(stdin_path, os.O_RDONLY)
    fout = os.open(os.devnull, os.O_WRONLY)
    try:
        acts = [(os.POSIX_SPAWN_DUP2, fin, 0), (os.POSIX_SPAWN_DUP2, fout, 1),
                (os.POSIX_SPAWN_DUP2, fout, 2)]
        t = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=acts)
        _, status, ru = os.wait4(pid, 0)
        return time.perf_counter() - t, ru.ru_maxrss, os.waitstatus_to_exitcode(status)
    finally:
        os.close(fin)
        os.close(fout)


def peak_rss(argv, env, stdin_path):
    """Peak RSS in KiB of one call, from GNU time (-f %M). wait4's rusage from here would not do:
    after a vfork-based spawn the kernel counts the parent's pre-exec peak too."""
    with tempfile.NamedTemporaryFile("r") as out:
        spawn(["/usr/bin/time", "-f", "%M", "-o", out.name] + argv, env, stdin_path)
        try:
            return int(out.read().split()[-1])
        except (ValueError, IndexError):
            return 0


def measure(argv, env, text, runs, warmup=3):
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write(text)
    try:
        for _ in range(warmup):
            spawn(argv, env, f.name)
        res = [spawn(argv, env, f.name) for _ in range(runs)]
        rss = [peak_rss(argv, env, f.name) for _ in range(5)] if HAVE_TIME else [0]
    finally:
        os.unlink(f.name)
    return {"ms": statistics.median(r[0] for r in res) * 1000,
            "rss": statistics.median(rss),
            "rc": res[-1][2]}


def fill(argv, env, servers):
    def one(s):
        p = subprocess.run(argv + ["store"], env=env, capture_output=True,
                           input=json.dumps({"ServerURL": s, "Username": "user-" + s,
                                             "Secret": "secret-" + s}).encode())
        return p.returncode
    with ThreadPoolExecutor(max_workers=4) as pool:
        bad = sum(1 for rc in pool.map(one, servers) if rc)
    if bad:
        print("warning: %d stores failed for %s" % (bad, argv[0]), file=sys.stderr)


def list_len(argv, env):
    p = subprocess.run(argv + ["list"], env=env, capture_output=True)
    try:
        return len(json.loads(p.stdout))
    except ValueError:
        return -1


def bench_source(ours, keyring_env, runs):
    """Cold source-backed get against curl making the same request to the same fake API, and the
    number of requests warm gets make. Returns (cold, curl, warm, warm_requests) or None."""
    from fakeserver import FakeServer
    curl = shutil.which("curl")
    if not curl:
        return None
    certs = tempfile.mkdtemp(prefix="dck-bench-certs-")
    try:
        subprocess.run(["sh", MKCA, certs], check=True, timeout=60)
        ca = os.path.join(certs, "ca.pem")
        with FakeServer("fake_do.py", certs, "--quiet", "--token", DO_TOKEN) as fake:
            env = {k: v for k, v in keyring_env.items()
                   if not k.startswith(("DIGITALOCEAN_", "DOCKER_CREDENTIAL_KEYRING_", "SSL_CERT_",
                                        "CURL_CA_BUNDLE"))}
            env.update(DIGITALOCEAN_API_URL=fake.url,
                       DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=fake.url,
                       SSL_CERT_FILE=ca, DIGITALOCEAN_ACCESS_TOKEN=DO_TOKEN)
            with tempfile.NamedTemporaryFile("w", delete=False) as f:
                f.write(DO_HOST)
            try:
                # One get first, for the exact request it makes: curl makes the same one.
                spawn(ours + ["erase"], env, f.name)
                spawn(ours + ["get"], env, f.name)
                req = [r for r in fake.control("GET", "requests")
                       if r["path"].startswith("/v2/")][-1]
                url = fake.url + req["path"] + ("?" + req["raw_query"] if req.get("raw_query") else "")
                argv = [curl, "-sS", "-o", "/dev/null", "--cacert", ca,
                        "-H", "Authorization: Bearer " + DO_TOKEN, url]
                # Turn about, so that both see the same machine: erase (revoked at the fake) so
                # that the get finds neither the keyring entry nor the kernel cache (a cold
                # get, one API request); erase again, which waits for the write-behind child,
                # so that curl does not share the machine with it; then curl.
                cold, curl_t = [], []
                for i in range(runs + 2):
                    spawn(ours + ["erase"], env, f.name)
                    t, _, rc = spawn(ours + ["get"], env, f.name)
                    if rc != 0:
                        print("warning: cold source get exited %d" % rc, file=sys.stderr)
                    spawn(ours + ["erase"], env, f.name)
                    c = spawn(argv, env, "/dev/null")[0]
                    if i >= 2:
                        cold.append(t)
                        curl_t.append(c)
                # Warm: after one more cold get, its copy is fresh; no request at all.
                spawn(ours + ["get"], env, f.name)
                before = len(fake.control("GET", "requests"))
                warm = [spawn(ours + ["get"], env, f.name)[0] for _ in range(runs)]
                warm_requests = len(fake.control("GET", "requests")) - before
            finally:
                os.unlink(f.name)
    finally:
        shutil.rmtree(certs, ignore_errors=True)
    med = lambda xs: statistics.median(xs) * 1000
    return med(cold), med(curl_t), med(warm), warm_requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("DCK_BIN") or
                    os.path.join(ROOT, "build", "helper", "docker-credential-keyring"))
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--entries", type=int, default=1000)
    a = ap.parse_args()
    ours = [os.path.abspath(a.bin)]
    if not ensure_reference():
        sys.exit("the reference %s is not installed (apt-get install golang-docker-credential-helpers)" % REF)
    ref = [shutil.which(REF)]
    servers = ["bench%04d.example.com" % i for i in range(a.entries)]
    hit = servers[len(servers) // 2]
    rows = []

    def row(name, o, r, unit="ms"):
        k = "ms" if unit == "ms" else "rss"
        ratio = ("%.3f" % (o[k] / r[k])) if r and r[k] else "-"
        fmt = (lambda m: "%.1f ms" % m[k]) if unit == "ms" else (lambda m: "%.1f MB" % (m[k] / 1024))
        rows.append((name, fmt(o), fmt(r) if r else "-", ratio))

    with KeyringSession() as ko, KeyringSession() as kr:
        env_o, env_r = dict(ko.env), dict(kr.env)
        env_off = dict(env_o, DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="0")
        print("filling both keyrings with %d entries…" % a.entries, file=sys.stderr)
        fill(ours, env_o, servers)
        fill(ref, env_r, servers)
        print("list sizes: ours %d, reference %d" % (list_len(ours, env_o), list_len(ref, env_r)),
              file=sys.stderr)
        spawn(ours + ["get"], env_o, "/dev/null")
        g_ref = measure(ref + ["get"], env_r, hit, a.runs)
        g_hit = measure(ours + ["get"], env_o, hit, a.runs)
        g_off = measure(ours + ["get"], env_off, hit, a.runs)
        m_ref = measure(ref + ["get"], env_r, "missing.example.com", a.runs)
        m_our = measure(ours + ["get"], env_o, "missing.example.com", a.runs)
        m_off = measure(ours + ["get"], env_off, "missing.example.com", a.runs)
        lruns = max(5, a.runs // 6)
        l_ref = measure(ref + ["list"], env_r, "", lruns, warmup=1)
        l_our = measure(ours + ["list"], env_o, "", lruns, warmup=1)
        v_our = measure(ours + ["version"], env_o, "", a.runs)
        src = bench_source(ours, env_o, max(10, a.runs))
        t_true = measure([shutil.which("true")], env_o, "", a.runs)
        for name, m in (("get hit", g_hit), ("get hit, cache off", g_off), ("get miss", m_our),
                        ("get miss, cache off", m_off)):
            if m["rc"] != (0 if "hit" in name else 1):
                print("warning: %s exited %d" % (name, m["rc"]), file=sys.stderr)

    row("get hit (kernel cache warm)", g_hit, g_ref)
    row("get hit, cache off (cache-ttl 0)", g_off, g_ref)
    row("get miss (kernel cache warm)", m_our, m_ref)
    row("get miss, cache off (cache-ttl 0)", m_off, m_ref)
    row("list, %d entries" % a.entries, l_our, l_ref)
    row("peak RSS of a get hit", g_hit, g_ref, unit="rss")
    row("peak RSS of a get, cache off", g_off, g_ref, unit="rss")
    rows.append(("`version` (process start, no D-Bus)", "%.1f ms" % v_our["ms"], "-", "-"))
    rows.append(("`/bin/true` (spawn floor)", "%.1f ms" % t_true["ms"], "-", "-"))
    helptext = subprocess.run(ours + ["--help"], capture_output=True).stdout.lower()
    if b"digitalocean" not in helptext:
        rows.append(("cold source-backed get vs curl", "skipped: DigitalOcean source not built", "-", "-"))
    elif src is None:
        rows.append(("cold source-backed get vs curl", "skipped: no curl", "-", "-"))
    else:
        cold, curl_ms, warm, warm_requests = src
        rows.append(("cold source-backed get (DigitalOcean fake)", "%.1f ms" % cold,
                     "curl: %.1f ms" % curl_ms, "%.3f" % (cold / curl_ms)))
        rows.append(("warm source-backed get", "%.1f ms, %d requests" % (warm, warm_requests),
                     "-", "-"))
    head = ("case", "ours", "reference", "ours / ref")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |")
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
    print("\nmedians of %d runs (list: %d), %s, %d CPUs" % (a.runs, lruns, os.uname().release,
                                                         os.cpu_count()))


if __name__ == "__main__":
    main()
