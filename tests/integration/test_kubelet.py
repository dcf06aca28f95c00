#!/usr/bin/env python3
"""The kubelet image credential provider (`kubelet`) and `pull-secret`, through the real binary.

The harness (Provider) runs the binary exactly as the kubelet's exec plugin does
(kubernetes pkg/credentialprovider/plugin/plugin.go, ExecPlugin): from the provider config's
bin dir under the provider's name (a link to the built binary, as docs/kubernetes.md installs
it), with the config's args, the kubelet's own environment with the config's env appended (they
win), the request encoded as the kubelet encodes it on stdin, and a 60 s kill. The kubelet's
environment here is a node's: root, no session bus, no HOME, no XDG directories. The provider
config is packaging/kubelet/credential-provider-config.yaml itself, with the token file and
the fake API's address put in.

A response with exit status 0 is decoded the way the kubelet decodes it, strictly, against the
v1 schema: exactly one JSON object, no unknown or duplicate field, apiVersion equal to the
request's, kind CredentialProviderResponse, a valid cacheKeyType, cacheDuration parsed as a Go
duration, auth a map of {username, password}. Anything else fails the test, as it would fail
the pull.

The API is tests/fakes/fake_do.py (and fake_rancher.py for CATTLE_* keys)."""
import base64
import ctypes
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import test_digitalocean as do
import test_rancher as rn
from common import BIN, forget_kernel_keyring, kernel_keyring_name, keyctl_works, store_json

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "packaging", "kubelet", "credential-provider-config.yaml")
GROUP = "credentialprovider.kubelet.k8s.io/"
V1 = GROUP + "v1"
HOST = do.HOST
TOKEN = do.TOKEN
KEYCTL_NR = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)


def setUpModule():
    do.setUpModule()


def tearDownModule():
    do.tearDownModule()


# --- the provider config: the subset of YAML the example is written in --------------------

def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def load_yaml(path):
    """Block mappings and sequences of scalars or mappings, comments: what the example uses.
    Anything else is an error, so the example cannot quietly grow past what is checked."""
    lines = []
    with open(path) as f:
        for raw in f:
            line = _strip_comment(raw.rstrip("\n"))
            if line.strip():
                if "\t" in line[:len(line) - len(line.lstrip())]:
                    raise ValueError("a tab in the indentation: %r" % raw)
                lines.append((len(line) - len(line.lstrip()), line.strip()))
    value, end = _block(lines, 0, lines[0][0])
    if end != len(lines):
        raise ValueError("cannot read line %r" % (lines[end],))
    return value


def _block(lines, i, indent):
    if lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            rest = lines[i][1][2:]
            if ":" in rest and not rest.startswith(("\"", "'")):
                # "- key: value" opens a mapping whose other keys sit at indent + 2
                lines[i] = (indent + 2, rest)
                item, i = _block(lines, i, indent + 2)
            else:
                item, i = _scalar(rest), i + 1
            items.append(item)
        return items, i
    mapping = {}
    while i < len(lines) and lines[i][0] == indent and not lines[i][1].startswith("- "):
        key, sep, rest = lines[i][1].partition(":")
        if not sep:
            raise ValueError("not key: value: %r" % (lines[i],))
        i += 1
        if rest.strip():
            mapping[key.strip()] = _scalar(rest)
        elif i < len(lines) and (lines[i][0] > indent or lines[i][1].startswith("- ")):
            mapping[key.strip()], i = _block(lines, i, lines[i][0])
        else:
            mapping[key.strip()] = None
    return mapping, i


# --- the kubelet's side: strict decoding ----------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0,
          "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(s):
    """Go's time.ParseDuration, in seconds (metav1.Duration decodes cacheDuration with it)."""
    sign = -1 if s.startswith("-") else 1
    body = s[1:] if s[:1] in "+-" else s
    if body == "0":
        return 0.0
    if not body:
        raise ValueError("invalid duration %r" % s)
    total, pos = 0.0, 0
    while pos < len(body):
        m = _PART.match(body, pos)
        if not m:
            raise ValueError("invalid duration %r" % s)
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def decode_response(out, api_version):
    """The kubelet's strict decoding of a CredentialProviderResponse (any version: the same
    fields). Returns the object with "seconds" added for a cacheDuration; raises ValueError."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate field in %r" % keys)
        return dict(pairs)
    v = json.loads(out.decode("utf-8"), object_pairs_hook=no_duplicates)
    if not isinstance(v, dict):
        raise ValueError("not an object")
    fields = {"apiVersion": str, "kind": str, "cacheKeyType": str, "cacheDuration": str,
              "auth": dict}
    for key, val in v.items():
        if key not in fields:
            raise ValueError("unknown field %r" % key)
        if not isinstance(val, fields[key]):
            raise ValueError("%s: wrong type" % key)
    for key in ("apiVersion", "kind", "cacheKeyType"):
        if key not in v:
            raise ValueError("missing field %r" % key)
    if v["apiVersion"] != api_version:
        raise ValueError("apiVersion %r, the request's was %r" % (v["apiVersion"], api_version))
    if v["kind"] != "CredentialProviderResponse":
        raise ValueError("kind %r" % v["kind"])
    if v["cacheKeyType"] not in ("Image", "Registry", "Global"):
        raise ValueError("cacheKeyType %r" % v["cacheKeyType"])
    if "cacheDuration" in v:
        v["seconds"] = parse_go_duration(v["cacheDuration"])
    for key, auth in v.get("auth", {}).items():
        if not key or not isinstance(auth, dict) or set(auth) != {"username", "password"} or \
                not all(isinstance(x, str) for x in auth.values()):
            raise ValueError("auth[%r] is not {username, password}" % key)
    return v


class Exec:
    def __init__(self, rc, out, err, seconds, response):
        self.rc, self.out, self.err, self.seconds, self.response = rc, out, err, seconds, response

    def __repr__(self):
        return "Exec(rc=%r, out=%r, err=%r, %.3fs)" % (self.rc, self.out[:300], self.err[:400],
                                                      self.seconds)


def node_environ(keyring):
    """The kubelet's own environment on a node: root's, with no session bus, no HOME or XDG
    directories, none of the helper's settings. Sanitizer settings pass (ASan builds)."""
    env = {}
    for name, value in os.environ.items():
        if name.startswith(("HOME", "XDG_", "DBUS_", "DISPLAY", "WAYLAND_", "DIGITALOCEAN_",
                            "DOCKER_", "RANCHER_", "CATTLE_", "SSL_CERT_", "CURL_CA_BUNDLE",
                            "REGISTRY_AUTH_FILE")):
            continue
        env[name] = value
    # One kernel keyring per test (the helper's own, in root's user keyring), removed after.
    env["DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING"] = keyring
    return env


class Provider:
    """One provider of a CredentialProviderConfig, run as the kubelet runs it."""

    def __init__(self, provider, bin_dir, environ):
        self.provider = provider
        self.bin_dir = bin_dir
        self.environ = environ

    def link(self):
        """The binary in the bin dir under the provider's name: a link, as installed."""
        path = os.path.join(self.bin_dir, self.provider["name"])
        try:
            os.symlink(os.path.realpath(BIN), path)
        except FileExistsError:  # made by an earlier call (or a parallel one)
            pass
        return path

    def request(self, image, api_version=None, sa_token=None, annotations=None):
        # The kubelet's encoder: TypeMeta first (kind, apiVersion), compact, a newline.
        req = {"kind": "CredentialProviderRequest",
               "apiVersion": api_version or self.provider["apiVersion"], "image": image}
        if sa_token:
            req["serviceAccountToken"] = sa_token
        if annotations:
            req["serviceAccountAnnotations"] = annotations
        return (json.dumps(req, separators=(",", ":")) + "\n").encode()

    def exec(self, image=None, api_version=None, stdin=None, preexec_fn=None, wrap=(), **request):
        """wrap: a command that execs the rest of its arguments, run in front (a test's way of
        changing the process's circumstances without preexec_fn, which threads make unsafe)."""
        env = dict(self.environ)
        for var in self.provider.get("env") or []:
            env[var["name"]] = var["value"]  # mergeEnvVars: the config's come last and win
        argv = list(wrap) + [self.link()] + list(self.provider.get("args") or [])
        if stdin is None:
            stdin = self.request(image, api_version, **request)
        start = time.monotonic()
        p = subprocess.run(argv, input=stdin, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, preexec_fn=preexec_fn)
        seconds = time.monotonic() - start
        response = None
        if p.returncode == 0:
            want = api_version or self.provider["apiVersion"]
            response = decode_response(p.stdout, want)  # the kubelet would refuse otherwise
        return Exec(p.returncode, p.stdout, p.stderr, seconds, response)


def response_text(api_version, host=None, username=None, password=None, duration=None):
    """The exact stdout expected."""
    v = {"apiVersion": api_version, "kind": "CredentialProviderResponse",
         "cacheKeyType": "Registry"}
    if duration is not None:
        v["cacheDuration"] = duration
    if host is not None:
        v["auth"] = {host: {"username": username, "password": password}}
    return (json.dumps(v, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


class Decoder(unittest.TestCase):
    """The harness's strict decoder refuses what the kubelet refuses (else every test above it
    could pass on a wrong answer)."""

    good = {"apiVersion": V1, "kind": "CredentialProviderResponse", "cacheKeyType": "Registry",
            "cacheDuration": "1h2m3.5s", "auth": {"h": {"username": "u", "password": "p"}}}

    def dec(self, value, api_version=V1):
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return decode_response(raw, api_version)

    def test_accepts_a_good_one(self):
        self.assertEqual(self.dec(self.good)["seconds"], 3723.5)
        self.assertEqual(parse_go_duration("0s"), 0)
        self.assertEqual(parse_go_duration("1m30s"), 90)
        self.assertEqual(parse_go_duration("12h0m0s"), 43200)

    def test_refuses(self):
        bad = [dict(self.good, extra=1),
               {k: v for k, v in self.good.items() if k != "cacheKeyType"},
               {k: v for k, v in self.good.items() if k != "kind"},
               dict(self.good, apiVersion=GROUP + "v1beta1"),
               dict(self.good, kind="CredentialProviderRequest"),
               dict(self.good, cacheKeyType="Host"),
               dict(self.good, cacheDuration="5"),
               dict(self.good, cacheDuration="1d"),
               dict(self.good, cacheDuration=300),
               dict(self.good, auth={"h": {"username": "u"}}),
               dict(self.good, auth={"h": {"username": "u", "password": "p", "auth": "x"}}),
               dict(self.good, auth=[]),
               b'{"apiVersion":"%s","apiVersion":"%s","kind":"CredentialProviderResponse",'
               b'"cacheKeyType":"Registry"}' % (V1.encode(), V1.encode()),
               b'{"apiVersion":"x"} {}', b"[]", b""]
        for value in bad:
            with self.assertRaises(ValueError, msg=value):
                self.dec(value)


class NodeCase(unittest.TestCase):
    """A node: the example provider config, a bin dir with the link, a fresh kernel keyring per
    test, the fake DigitalOcean API with one token, the token in a root-only file."""

    @classmethod
    def setUpClass(cls):
        cls.fake = do.Fake("--token", TOKEN)
        cls.addClassCleanup(cls.fake.stop)
        cls.dir = tempfile.mkdtemp(prefix="dck-kubelet-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.bin_dir = os.path.join(cls.dir, "bin")
        os.makedirs(cls.bin_dir)
        cls.token_file = os.path.join(cls.dir, "digitalocean-token")
        fd = os.open(cls.token_file, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (TOKEN + "\n").encode())
        os.close(fd)
        cls.config = load_yaml(EXAMPLE)

    def setUp(self):
        self.fake.reset()
        self.keyring = kernel_keyring_name(tempfile.mktemp(prefix="kubelet-"))
        self.addCleanup(forget_kernel_keyring, self.keyring)
        self.provider = self.node_provider()

    def node_provider(self, args=None, **env):
        """The example's provider, its token file and the fake API put in, env added."""
        p = json.loads(json.dumps(self.config["providers"][0]))
        for var in p["env"]:
            if var["name"] == "DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE":
                var["value"] = self.token_file
        env = dict({"DIGITALOCEAN_API_URL": self.fake.url,
                    "DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL": self.fake.url,
                    "SSL_CERT_FILE": os.path.join(do.CERTS, "ca.pem"),
                    "DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT": "5s"}, **env)
        p["env"] += [{"name": k, "value": v} for k, v in env.items() if v is not None]
        p["env"] = [e for e in p["env"] if env.get(e["name"], "") is not None]
        if args is not None:
            p["args"] = args
        return Provider(p, self.bin_dir, node_environ(self.keyring))

    def minted(self):
        return self.fake.minted()

    def assertAnswer(self, r, api_version=V1, host=HOST):
        """Exit 0 with the last minted credentials for host, cacheDuration included."""
        self.assertEqual(r.rc, 0, r)
        m = self.minted()[-1]
        want = response_text(api_version, host, m["username"], m["password"],
                             r.response.get("cacheDuration"))
        self.assertEqual(r.out, want, r)
        return r.response


class Config(unittest.TestCase):
    def test_example_is_what_the_docs_say(self):
        c = load_yaml(EXAMPLE)
        self.assertEqual((c["apiVersion"], c["kind"]),
                         ("kubelet.config.k8s.io/v1", "CredentialProviderConfig"))
        (p,) = c["providers"]
        self.assertEqual(p["name"], "docker-credential-keyring")
        self.assertEqual(p["matchImages"], ["registry.digitalocean.com"])
        self.assertEqual(p["apiVersion"], V1)
        self.assertEqual(p["args"], ["kubelet"])
        self.assertGreater(parse_go_duration(p["defaultCacheDuration"]), 0)
        self.assertEqual([e["name"] for e in p["env"]], ["DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE"])


class DigitalOcean(NodeCase):
    def test_each_api_version_is_echoed(self):
        for version in ("v1", "v1beta1", "v1alpha1"):
            r = self.provider.exec("%s/team/app:1" % HOST, api_version=GROUP + version)
            self.assertAnswer(r, GROUP + version)
        self.assertEqual(len(self.minted()), 1)

    def test_cache_duration_is_the_time_to_the_refresh_point(self):
        # 2 h credentials refreshed with a quarter of their life left: the kubelet may keep
        # them 1.5 h, less the seconds since they were minted; never longer.
        p = self.node_provider(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="7200",
                               DOCKER_CREDENTIAL_KEYRING_DO_REFRESH_SHARE="0.25")
        before = time.time()
        r = p.exec("%s/team/app@sha256:%s" % (HOST, "a" * 64))
        resp = self.assertAnswer(r)
        self.assertEqual(self.minted()[-1]["expiry_seconds"], 7200)
        self.assertLessEqual(resp["seconds"], 5400)
        self.assertGreaterEqual(resp["seconds"], 5400 - (time.time() - before) - 1)
        self.assertRegex(resp["cacheDuration"], r"^1h(29m5[0-9]|30m0)s$")
        time.sleep(1.1)
        later = p.exec("%s/other:2" % HOST).response
        self.assertLess(later["seconds"], resp["seconds"])
        self.assertEqual(len(self.minted()), 1)

    def test_calls_within_a_lifetime_make_one_request(self):
        p = self.node_provider(DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY=do.REGISTRY)
        images = ["%s/team/app:%d" % (HOST, i) for i in range(20)]
        with ThreadPoolExecutor(max_workers=8) as pool:  # a kubelet restart: pods at once
            first = list(pool.map(p.exec, images[:10]))
        rest = [p.exec(image) for image in images[10:]]
        auths = {json.dumps(r.response["auth"]) for r in first + rest}
        self.assertEqual(len(auths), 1, first + rest)
        for r in first + rest:
            self.assertAnswer(r)
        self.assertEqual([q["path"] for q in self.fake.requests()], [do.NAMED])
        self.assertEqual(len(self.minted()), 1)

    def test_without_a_home_the_registry_is_asked_for_once_per_fetch(self):
        # No HOME: the account's registry name cannot be remembered in a file, so the one
        # fetch asks for it; every later call reads the copy and asks nothing.
        for i in range(5):
            self.assertAnswer(self.provider.exec("%s/app:%d" % (HOST, i)))
        self.assertEqual([q["path"] for q in self.fake.requests()], ["/v2/registries", do.NAMED])

    def test_credentials_are_read_only(self):
        self.assertAnswer(self.provider.exec(HOST + "/app"))
        self.assertEqual(self.minted()[-1]["read_write"], False)
        # Unless the settings say otherwise.
        self.fake.reset()
        p = self.node_provider(DOCKER_CREDENTIAL_KEYRING_DO_READ_ONLY="false",
                               DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING=self.keyring + "-rw")
        self.addCleanup(forget_kernel_keyring, self.keyring + "-rw")
        self.assertAnswer(p.exec(HOST + "/app"))
        self.assertEqual(self.minted()[-1]["read_write"], True)

    def test_a_copy_past_its_refresh_point_is_answered_for_0s_while_the_api_fails(self):
        self.assertAnswer(self.provider.exec(HOST + "/app"))
        old = self.minted()[-1]
        # Now every copy is due (share near 1), and the API fails: the copy, still valid, is
        # the answer, for this pull only.
        self.fake.mode("status", status=503)
        p = self.node_provider(DOCKER_CREDENTIAL_KEYRING_DO_REFRESH_SHARE="0.99999")
        r = p.exec(HOST + "/app")
        self.assertEqual((r.rc, r.out), (0, response_text(V1, HOST, old["username"],
                                                          old["password"], "0s")), r)

    def test_service_account_fields_of_kubelet_1_33_are_accepted(self):
        sa_token = "eyJhbGciOiJSUzI1NiJ9.service-account-token.signature"
        r = self.provider.exec(HOST + "/app", sa_token=sa_token,
                               annotations={"example.com/role": "puller", "x": ""})
        self.assertAnswer(r)
        self.assertNotIn(sa_token.encode(), r.out + r.err)

    def test_no_token_file_is_an_error_the_kubelet_logs(self):
        p = self.node_provider()
        p.provider["env"][0]["value"] = os.path.join(self.dir, "missing-token")
        r = p.exec(HOST + "/app")
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertRegex(r.err, rb"^docker-credential-keyring: kubelet: registry\.digitalocean\.com: "
                                rb"DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE \(.*missing-token\): "
                                rb"cannot read the token file: No such file or directory\n$")
        self.assertEqual(self.fake.requests(), [])

    def test_a_refused_token_is_an_error_without_secrets(self):
        self.fake.mode("status", status=401, id="unauthorized", message="Unable to authenticate you.")
        r = self.provider.exec(HOST + "/app")
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertIn(b"DigitalOcean refused the API token", r.err)
        self.assertEqual(r.err.count(b"\n"), 1, r)
        self.assertNotIn(TOKEN.encode(), r.err)

    def test_the_whole_run_is_bounded_when_the_api_does_not_answer(self):
        self.fake.mode("silence", seconds=8)
        p = self.node_provider(DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="100s",
                               DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE="2s")
        r = p.exec(HOST + "/app")
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertEqual(r.err, b"docker-credential-keyring: kubelet: no answer within 2000 ms "
                                b"(DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE): gave up\n")
        self.assertLess(r.seconds, 4, r)
        self.assertGreaterEqual(r.seconds, 1.9, r)

    def test_the_deadline_says_why_under_a_long_name(self):
        # Installed under a long name, the deadline's line was dropped: an exit 1 with
        # nothing on stderr. Now it is cut, and still one line.
        self.fake.mode("silence", seconds=8)
        p = self.node_provider(args=["kubelet"], DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="100s",
                               DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE="1s")
        p.provider["name"] = "credential-provider-" + "x" * 150
        r = p.exec(HOST + "/app")
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertTrue(r.err.startswith(p.provider["name"].encode()[:100]), r)
        self.assertTrue(r.err.endswith(b"\n") and r.err.count(b"\n") == 1, r)

    def test_a_deadline_near_the_kubelets_minute_is_refused(self):
        r = self.node_provider(DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE="60s").exec(HOST + "/a")
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE", r.err)
        self.assertIn(b"out of range", r.err)

    def test_settings_in_args(self):
        # Everything in args, nothing in env: NAME=VALUE, the environment's names.
        p = self.node_provider(args=["kubelet", "DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE=" +
                                     self.token_file,
                                     "DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY=" + do.REGISTRY,
                                     "DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY=1h"])
        p.provider["env"] = [e for e in p.provider["env"]
                             if e["name"] != "DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE"]
        self.assertAnswer(p.exec(HOST + "/app"))
        self.assertEqual([q["path"] for q in self.fake.requests()], [do.NAMED])
        self.assertEqual(self.minted()[-1]["expiry_seconds"], 3600)

    def test_a_secret_in_args_is_refused(self):
        for name in ("DIGITALOCEAN_ACCESS_TOKEN", "CATTLE_SECRET_KEY"):
            p = self.node_provider(args=["kubelet", "%s=%s" % (name, TOKEN)])
            r = p.exec(HOST + "/app")
            self.assertEqual((r.rc, r.out), (1, b""), r)
            self.assertEqual(r.err, ("docker-credential-keyring: kubelet: %s in args puts a secret "
                                     "where every process on the node can read it: name a file "
                                     "instead (DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE, or the "
                                     "config file DOCKER_CREDENTIAL_KEYRING_CONFIG)\n"
                                     % name).encode())
        self.assertEqual(self.fake.requests(), [])

    def test_other_args_are_refused(self):
        for arg in ("--verbose", "PATH=/tmp", "DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY", "=x"):
            r = self.node_provider(args=["kubelet", arg]).exec(HOST + "/app")
            self.assertEqual((r.rc, r.out), (1, b""), (arg, r))
            self.assertIn(b"kubelet: argument 1 is not NAME=VALUE", r.err)

    def test_a_broken_setting_is_an_error_the_kubelet_logs(self):
        p = self.node_provider(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="soon")
        for image in (HOST + "/app", "quay.io/app"):  # the broken source might serve either
            r = p.exec(image)
            self.assertEqual((r.rc, r.out), (1, b""), r)
            self.assertEqual(r.err, b'docker-credential-keyring: kubelet: '
                                    b'DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY: "soon" is not a whole '
                                    b'number of seconds from 0 to 1576800000 (or a duration such '
                                    b'as 12h, or never)\n')
        self.assertEqual(self.fake.requests(), [])

    def test_installed_under_the_provider_name(self):
        p = self.node_provider(args=[])
        p.provider["name"] = "keyring-credential-provider"
        self.assertAnswer(p.exec(HOST + "/app"))

    @unittest.skipUnless(os.geteuid() == 0 and KEYCTL_NR and keyctl_works(),
                         "the kubelet's case: root, with kernel keyrings")
    def test_root_with_a_private_session_keyring_per_call(self):
        """systemd runs the kubelet with KeyringMode=private: a session keyring of its own,
        not linked to root's user keyring. Each call here gets a new one, and still reads the
        one copy from root's user keyring."""
        libc = ctypes.CDLL(None, use_errno=True)

        def private_session():
            if libc.syscall(KEYCTL_NR, 1, None) < 0:  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
                os._exit(126)

        def session_id():
            code = ("import ctypes; print(ctypes.CDLL(None).syscall(%d, 0, -3, 0))" % KEYCTL_NR)
            return subprocess.run(["python3", "-c", code], preexec_fn=private_session,
                                  stdout=subprocess.PIPE, check=True).stdout
        self.assertNotEqual(session_id(), session_id())  # the fixture does what it says
        for i in range(3):
            r = self.provider.exec("%s/app:%d" % (HOST, i), preexec_fn=private_session)
            self.assertAnswer(r)
        self.assertEqual(len(self.minted()), 1)
        # The copy is in the helper's keyring in root's user keyring: ID FLAGS USAGE TIMEOUT
        # PERM UID GID TYPE DESCRIPTION: SUMMARY.
        with open("/proc/keys") as f:
            rings = [fields for fields in (line.split(None, 8) for line in f)
                     if len(fields) == 9 and fields[7] == "keyring" and
                     fields[8].rsplit(": ", 1)[0] == self.keyring]
        self.assertEqual([(fields[5], fields[8].rsplit(": ", 1)[1].strip()) for fields in rings],
                         [("0", "1")], rings)


    @unittest.skipUnless(os.geteuid() == 0 and KEYCTL_NR and keyctl_works(),
                         "root, with kernel keyrings")
    def test_a_root_service_pulling_mints_once(self):
        """The same for a build server's service running as root (docker pull calls get)."""
        libc = ctypes.CDLL(None, use_errno=True)
        env = dict(self.provider.environ, DIGITALOCEAN_API_URL=self.fake.url,
                   SSL_CERT_FILE=os.path.join(do.CERTS, "ca.pem"),
                   DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE=self.token_file)

        def private_session():
            if libc.syscall(KEYCTL_NR, 1, None) < 0:
                os._exit(126)
        outs = [subprocess.run([BIN, "get"], input=HOST.encode(), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, preexec_fn=private_session, timeout=30)
                for _ in range(3)]
        m = self.minted()
        self.assertEqual(len(m), 1, outs)
        self.assertEqual([(p.returncode, p.stdout) for p in outs],
                         [(0, do.answer(HOST, m[0]["username"], m[0]["password"]))] * 3)


class Hosts(NodeCase):
    """The image's registry host, by the kubelet's rules, answered from logins stored on the
    node (root's kernel keyring): no source, no expiry, so no cacheDuration."""

    LOGINS = {"docker.io": "hub", "registry.example.com": "ex", "registry.example.com:5000": "ex5000",
              "[::1]:5000": "v6", "localhost": "local", "localhost:5000": "local5000",
              "Upper.Case": "upper", "Foo": "foo"}
    CASES = [
        ("nginx", "docker.io"),
        ("nginx:1.27", "docker.io"),
        ("library/nginx", "docker.io"),
        ("docker.io/library/nginx", "docker.io"),
        ("index.docker.io/library/nginx:latest", "docker.io"),
        ("team/app@sha256:" + "b" * 64, "docker.io"),
        ("nginx:5000", "docker.io"),  # a tag, not a port
        ("registry.example.com/team/app:1", "registry.example.com"),
        ("registry.example.com/a/b/c@sha256:" + "c" * 64, "registry.example.com"),
        ("registry.example.com:5000/app:v1@sha256:" + "d" * 64, "registry.example.com:5000"),
        ("[::1]:5000/app:1", "[::1]:5000"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app", "localhost:5000"),
        ("Upper.Case/app", "Upper.Case"),
        ("Foo/app", "Foo"),  # upper case: a host, not a Docker Hub namespace
    ]

    def test_image_to_host(self):
        env = node_environ(self.keyring)
        for host, user in self.LOGINS.items():
            p = subprocess.run([BIN, "store"], input=store_json(host, user, "pw-" + user).encode(),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(p.returncode, 0, p)
        for image, host in self.CASES:
            r = self.provider.exec(image)
            user = self.LOGINS[host]
            self.assertEqual((r.rc, r.out, r.err),
                             (0, response_text(V1, host, user, "pw-" + user), b""), image)
        self.assertEqual(self.fake.requests(), [])

    def test_docker_hub_as_docker_login_keeps_it(self):
        """`docker login` keeps Docker Hub under https://index.docker.io/v1/, not under the
        docker.io that images name: the provider must find it there too."""
        env = node_environ(self.keyring)
        p = subprocess.run([BIN, "store"], input=store_json("https://index.docker.io/v1/", "hubuser",
                                                            "pw-hub").encode(),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p)
        for image in ("nginx", "docker.io/library/nginx", "index.docker.io/team/app"):
            r = self.provider.exec(image)
            self.assertEqual((r.rc, r.out, r.err),
                             (0, response_text(V1, "docker.io", "hubuser", "pw-hub"), b""), image)
        # A login under docker.io itself is the nearer one and wins.
        p = subprocess.run([BIN, "store"], input=store_json("docker.io", "near", "pw-near").encode(),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p)
        r = self.provider.exec("nginx")
        self.assertEqual((r.rc, r.out), (0, response_text(V1, "docker.io", "near", "pw-near")))
        self.assertEqual(self.fake.requests(), [])

    def test_a_host_no_source_serves(self):
        for image in ("quay.io/team/app:1", "nginx", "ghcr.io/a/b@sha256:" + "e" * 64):
            r = self.provider.exec(image)
            self.assertEqual((r.rc, r.out, r.err), (0, response_text(V1, duration="0s"), b""), image)
        self.assertEqual(self.fake.requests(), [])


class Malformed(NodeCase):
    def test_malformed_requests(self):
        req = {"kind": "CredentialProviderRequest", "apiVersion": V1, "image": HOST + "/app"}

        def j(**changes):
            v = dict(req, **changes)
            return json.dumps({k: x for k, x in v.items() if x is not None}).encode()
        cases = [
            (b"", b"invalid request: the input is empty"),
            (b"not json", b"invalid request: "),
            (b"[]", b"invalid request: expected an object, got array"),
            (b"null", b"invalid request: expected an object, got null"),
            (j() + b" {}", b"invalid request: "),
            (j() + b" x", b"invalid request: "),
            (j(apiVersion=None), b"invalid request: no apiVersion"),
            (j(apiVersion=GROUP + "v2"), b"invalid request: apiVersion \"" + GROUP.encode() +
             b"v2\" is not one this provider speaks"),
            (j(apiVersion="client.authentication.k8s.io/v1"), b"is not one this provider speaks"),
            (j(apiVersion=1), b"invalid request: apiVersion must be a string"),
            (j(kind="CredentialProviderResponse"), b"invalid request: kind is not CredentialProviderRequest"),
            (j(kind=None), b"invalid request: kind is not CredentialProviderRequest"),
            (j(image=None), b"invalid request: no image"),
            (j(image=""), b"the request's image is empty"),
            (j(image=7), b"invalid request: image must be a string"),
            (j(image="a b/c"), b"the request's image holds a space or a control character"),
            (j(image="reg.example.com\u0000/x"), b"holds a space or a control character"),
            (j(image="/app"), b"the request's image \"/app\" starts with a /"),
            (j(image="https://reg.example.com/app"), b"does not start with a registry host"),
            (j(image="bad_host.example.com/app"), b"does not start with a registry host"),
            (j(image="reg.example.com:99999999/app"), b"does not start with a registry host"),
            (j(image="[::1/app"), b"does not start with a registry host"),
            (j(image="x" * 5000), b"longer than 4096 bytes"),
            (j(serviceAccountToken=5), b"invalid request: serviceAccountToken must be a string"),
            (j(serviceAccountAnnotations=["a"]), b"serviceAccountAnnotations must be an object of strings"),
            (j(serviceAccountAnnotations={"a": 1}), b"serviceAccountAnnotations must be an object of strings"),
            (b"\xff\xfe{}", b"invalid request: it is not valid UTF-8"),
            (b" " * (1024 * 1024 + 1), b"larger than"),
        ]
        for stdin, reason in cases:
            r = self.provider.exec(stdin=stdin)
            self.assertEqual((r.rc, r.out), (1, b""), (stdin[:80], r))
            self.assertTrue(r.err.startswith(b"docker-credential-keyring: kubelet: "), r)
            self.assertIn(reason, r.err, (stdin[:80], r))
            self.assertEqual(r.err.count(b"\n"), 1, r)
        self.assertEqual(self.fake.requests(), [])

    def test_unknown_request_fields_are_ignored(self):
        r = self.provider.exec(stdin=json.dumps({
            "kind": "CredentialProviderRequest", "apiVersion": V1, "image": "quay.io/a",
            "aFieldOfKubernetes1_40": {"x": [1, 2]}}).encode())
        self.assertEqual((r.rc, r.out), (0, response_text(V1, duration="0s")), r)


class Rancher(NodeCase):
    """A node in a Rancher 1.x environment: the environmentAdmin CATTLE_* keys in the provider's
    env (the secret key in env, never in args)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        made_ca = rn.CERTS is None
        cls.rancher = rn.Fake()
        cls.addClassCleanup(cls.rancher.stop)
        if made_ca:
            cls.addClassCleanup(shutil.rmtree, rn.certs(), ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.rancher.reset()
        self.provider = self.node_provider(
            CATTLE_URL=self.rancher.url + "/v2-beta", CATTLE_ACCESS_KEY="adminkey",
            CATTLE_SECRET_KEY="adminsecret",
            DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE=os.path.join(rn.certs(), "ca.pem"))

    def test_credentials_read_from_rancher_for_their_cache_ttl(self):
        self.rancher.seed(("reg.example.com", [("ruser", "rsecret", "active")]))
        r = self.provider.exec("reg.example.com/team/app:1")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(r.response["cacheDuration"], ("29s", "30s"), r)
        self.assertEqual(r.out, response_text(V1, "reg.example.com", "ruser", "rsecret",
                                              r.response["cacheDuration"]))
        self.rancher.clear_requests()
        r = self.provider.exec("reg.example.com/team/other:2")
        self.assertEqual(r.response["auth"], {"reg.example.com": {"username": "ruser",
                                                                  "password": "rsecret"}})
        self.assertEqual(self.rancher.requests(), [])

    def test_a_host_rancher_has_nothing_for(self):
        r = self.provider.exec("nginx")
        self.assertEqual((r.rc, r.out), (0, response_text(V1, duration="0s")), r)
        self.assertIn(b"Rancher has no active credential for index.docker.io", r.err)


class PullSecret(NodeCase):
    """`pull-secret HOST...`: a .dockerconfigjson on stdout, for kubectl; errors on stderr."""

    def setUp(self):
        super().setUp()
        self.env = node_environ(self.keyring)
        self.env.update(DIGITALOCEAN_API_URL=self.fake.url,
                        SSL_CERT_FILE=os.path.join(do.CERTS, "ca.pem"),
                        DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE=self.token_file,
                        DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY=do.REGISTRY)

    def ps(self, *args, **env):
        p = subprocess.run([BIN, "pull-secret"] + list(args), env=dict(self.env, **env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           stdin=subprocess.DEVNULL)
        return p

    @staticmethod
    def entry(user, password):
        return {"username": user, "password": password,
                "auth": base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}

    def test_digitalocean_mints_read_only_credentials_for_the_secret(self):
        p = self.ps(HOST)
        self.assertEqual(p.returncode, 0, p)
        m = self.minted()[-1]
        want = {"auths": {HOST: self.entry(m["username"], m["password"])}}
        self.assertEqual(p.stdout, (json.dumps(want, separators=(",", ":")) + "\n").encode())
        self.assertEqual((m["read_write"], m["expiry_seconds"]), (False, 86400))
        self.assertRegex(p.stderr, rb"^docker-credential-keyring: pull-secret: registry\."
                                   rb"digitalocean\.com: new DigitalOcean credentials, valid for "
                                   rb"(24h0m0s|23h59m5[0-9]s)\n$")

    def test_debug_in_the_config_file_is_honoured(self):
        # pull-secret loaded the config file without its `debug` setting, as no other verb did.
        path = os.path.join(self.dir, "debug.conf")
        with open(path, "w") as f:
            f.write("debug = true\n")
        p = self.ps(HOST, DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(b"docker-credential-keyring: debug: ", p.stderr)

    def test_lifetime(self):
        self.assertEqual(self.ps("--lifetime", "720h", HOST).returncode, 0)
        self.assertEqual(self.minted()[-1]["expiry_seconds"], 720 * 3600)
        p = self.ps("--lifetime=never", HOST)
        self.assertEqual(p.returncode, 0, p)
        # No expiry_seconds at all: the API's way of saying "never".
        self.assertEqual(self.fake.api_requests()[-1]["query"], {"read_write": "false"})
        self.assertIn(b"new DigitalOcean credentials that do not expire", p.stderr)
        for bad in ("0", "1.5", "12d", "soon", "1576800001"):
            p = self.ps("--lifetime", bad, HOST)
            self.assertEqual((p.returncode, p.stdout), (1, b""), (bad, p))
            self.assertIn(b"--lifetime: \"%s\" is not a duration" % bad.encode(), p.stderr)
        self.assertEqual(len(self.minted()), 2)

    def test_each_secret_is_its_own_token_and_not_the_machines_copy(self):
        first = json.loads(self.ps(HOST).stdout)["auths"][HOST]
        second = json.loads(self.ps(HOST).stdout)["auths"][HOST]
        self.assertNotEqual(first["password"], second["password"])
        g = subprocess.run([BIN, "get"], input=HOST.encode(), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(g.returncode, 0, g)
        self.assertNotIn(json.loads(g.stdout)["Secret"], (first["password"], second["password"]))
        self.assertEqual(len(self.minted()), 3)

    def test_logins_and_sources_in_one_secret(self):
        s = subprocess.run([BIN, "store"], input=store_json("reg.example.com", "me", 'p:"w').encode(),
                           env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(s.returncode, 0, s)
        p = self.ps("reg.example.com", HOST, "reg.example.com")
        self.assertEqual(p.returncode, 0, p)
        m = self.minted()[-1]
        want = {"auths": {"reg.example.com": self.entry("me", 'p:"w'),
                          HOST: self.entry(m["username"], m["password"])}}
        self.assertEqual(p.stdout, (json.dumps(want, separators=(",", ":")) + "\n").encode())

    def test_errors_leave_stdout_empty(self):
        cases = [
            ((), b"pull-secret: no host (usage: pull-secret [--lifetime DURATION] HOST...)"),
            (("--nope", HOST), b"pull-secret: --nope: unknown option"),
            (("--lifetime",), b"pull-secret: --lifetime needs a DURATION\n"),
            (("nothing.example.com",), b"pull-secret: nothing.example.com: no entry for "
                                       b"nothing.example.com"),
            ((HOST, "nothing.example.com"), b"pull-secret: nothing.example.com: no entry"),
            (("--lifetime", "1h", "quay.io"), b"pull-secret: quay.io: --lifetime is for the hosts "
                                              b"DigitalOcean serves"),
            (("bad host",), b"pull-secret: \"bad host\" is not a registry host"),
        ]
        for args, reason in cases:
            p = self.ps(*args)
            self.assertEqual((p.returncode, p.stdout), (1, b""), (args, p))
            self.assertEqual(p.stderr.count(b"\n"), 1, p)
            self.assertIn(reason, p.stderr, (args, p))
        p = self.ps(HOST, DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE=os.path.join(self.dir, "none"))
        self.assertEqual((p.returncode, p.stdout), (1, b""), p)
        self.assertIn(b"cannot read the token file", p.stderr)
        # Logins are read first: a missing one leaves no new token behind on the account.
        self.assertEqual(self.minted(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
