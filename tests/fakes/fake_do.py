#!/usr/bin/env python3
"""fake_do.py: a fake DigitalOcean API for docker-credential-keyring's tests.

The real API cannot be reached from test machines, so this server plays it on loopback, following
the contract in shared/docs/apis.md and apis-detail.md (section 1 and "A.1 Fake DigitalOcean
API"); where the docs leave a point open it takes the stricter reading. Standard library only.

    python3 tests/fakes/fake_do.py --cert server.pem --key server.key [--port 0]
        [--bind 127.0.0.1] [--plain] [--token TOK]... [--token-scopes TOK=registry:read]...
        [--registries name1,name2] [--email E] [--team T] [--registry-host H]
        [--fixed-credential USER:PASS] [--htpasswd FILE] [--rate-limit N]
        [--bad-query-status 422] [--quiet]

It prints one line "READY <port>" once it listens, then serves until killed.
Tokens: each --token is a full-access token (registry:read, registry:update and account:read);
without --token, dop_v1_testtoken is. --token-scopes adds a token with only the scopes listed
(comma-separated), e.g. a registry-only token "registry:read,registry:update".

API it plays (base URL and revoke URL both point here):
    GET  /v2/registry/docker-credentials?read_write=&expiry_seconds=   (deprecated, still used)
    GET  /v2/registries/<name>/docker-credentials?read_write=&expiry_seconds=
    GET  /v2/registry, /v2/registries, /v2/registries/<name>
    GET  /v2/registry/subscription, /v2/registries/subscription
    GET  /v2/account                 (account:read; the e-mail and team of the token's account)
    POST /v1/oauth/revoke            (form body token=<registry password>, bearer = same token)

Test control (no auth, JSON): see CONTROL_HELP below or GET /_test/help.
"""
import argparse
import base64
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

MAX_EXPIRY_SECONDS = 1576800000
DEFAULT_REGISTRY_HOST = "registry.digitalocean.com"
FULL_SCOPES = ("registry:read", "registry:update")
ACCOUNT_SCOPES = ("account:read",)
JSON_TYPE = "application/json; charset=utf-8"
MAX_REQUEST_BODY = 1 << 20
HOUR = 3600

PRECONDITION_MESSAGE = (
    "This API is not supported if you have created multiple registries. "
    "Please use \u2018/v2/registries/{registry_name}\u2019 instead. Refer to "
    "https://docs.digitalocean.com/reference/api/digitalocean/#tag/Container-Registry "
    "for more info.")

# status -> (id, message) as in DigitalOcean's OpenAPI shared responses.
ERRORS = {
    400: ("bad_request", "error parsing request body"),
    401: ("unauthorized", "Unable to authenticate you."),
    403: ("forbidden", "You do not have permission to perform this action."),
    404: ("not_found", "The resource you requested could not be found."),
    405: ("method_not_allowed", "Method not allowed."),
    412: ("precondition_failed", PRECONDITION_MESSAGE),
    413: ("request_entity_too_large", "Request body too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    422: ("unprocessable_entity", "request payload validation failed"),
    429: ("too_many_requests", "API Rate limit exceeded."),
    500: ("server_error", "Unexpected server-side error"),
    502: ("server_error", "Unexpected server-side error"),
    503: ("server_error", "Unexpected server-side error"),
}

MODES = ("ok", "status", "rate_limited", "silence", "trickle", "reset", "malformed", "huge",
         "redirect", "delay", "legacy", "bad_auth")

CONTROL_HELP = {
    "GET /_test/requests": "every API request so far: method, path, query, raw_query, "
                           "authorization, headers, body, status, mode, time",
    "GET /_test/counts": '{"GET /v2/registries": n, ...}: API requests so far per method and path',
    "GET /_test/minted": "every minted credential: username, password, read_write, "
                         "expiry_seconds, expires_at, registry, revoked, created_at",
    "GET /_test/mode": "the queue of fault modes still to apply",
    "POST /_test/mode": '{"mode": M, "count": n, "append": false, "path": REGEX, ...params}; '
                        'a mode with a path applies only to requests whose path matches it '
                        '(the others are served normally); modes: ' + ", ".join(MODES),
    "POST /_test/config": '{"registries": ["name" or "name:region", ...], "email": E, "team": T}',
    "POST /_test/reset": "forget requests, minted credentials, modes, rate counters, config",
    "POST /_test/shutdown": "stop the server",
}


def error_body(status, request_id, err_id=None, message=None):
    """The DigitalOcean error body {"id","message","request_id"} as bytes."""
    default_id, default_message = ERRORS.get(status, ("server_error" if status >= 500
                                                      else "error", "error"))
    return to_json({"id": err_id or default_id, "message": message or default_message,
                    "request_id": request_id})


def to_json(value):
    """Compact JSON bytes, the way the real API writes them."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def parse_registries(spec):
    """"a,b:nyc3" -> [{"name": "a", "region": "fra1"}, {"name": "b", "region": "nyc3"}]."""
    items = spec if isinstance(spec, list) else [s for s in spec.split(",") if s.strip()]
    result = []
    for item in items:
        name, _, region = item.strip().partition(":")
        result.append({"name": name, "region": region or "fra1"})
    return result


def registry_info(reg, with_subscription):
    """The registry object of models/registry_base.yml (plus subscription when asked)."""
    info = {"name": reg["name"], "created_at": "2020-03-21T16:02:37Z", "region": reg["region"],
            "storage_usage_bytes": 29393920,
            "storage_usage_bytes_updated_at": "2020-11-04T21:39:49.530562231Z"}
    if with_subscription:
        info["subscription"] = subscription_info()
    return info


def subscription_info():
    return {"tier": {"name": "Basic", "slug": "basic", "included_repositories": 5,
                     "included_storage_bytes": 5368709120, "allow_storage_overage": True,
                     "included_bandwidth_bytes": 5368709120, "monthly_price_in_cents": 500,
                     "storage_overage_price_in_cents": 2},
            "created_at": "2020-01-23T21:19:12Z", "updated_at": "2020-11-05T15:53:24Z"}


class ApiError(Exception):
    """An error answer: status plus optional id/message/extra headers."""

    def __init__(self, status, err_id=None, message=None, headers=None):
        super().__init__(status)
        self.status = status
        self.err_id = err_id
        self.message = message
        self.headers = headers or {}


class State:
    """Everything the server remembers; every access holds self.lock."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = []
            self.minted = []
            self.modes = []
            self.rate = {}          # bearer token -> list of request times in the last hour
            self.registries = parse_registries(self.opts.registries)
            self.email = self.opts.email
            self.team = self.opts.team
            self.htpasswd_current = {}

    # --- request log ------------------------------------------------------------------
    def log_request(self, entry):
        with self.lock:
            self.requests.append(entry)

    # --- fault modes ------------------------------------------------------------------
    def set_mode(self, spec):
        mode = spec.get("mode")
        if mode not in MODES:
            raise ValueError("unknown mode %r; known: %s" % (mode, ", ".join(MODES)))
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer")
        path = spec.get("path")
        if path is not None:
            try:
                re.compile(path)
            except (re.error, TypeError) as e:  # the caller's error (400), not the API's
                raise ValueError("path: %s" % e)
        item = {"mode": mode, "remaining": count, "path": path,
                "params": {k: v for k, v in spec.items()
                           if k not in ("mode", "count", "append", "path")}}
        with self.lock:
            if not spec.get("append"):
                self.modes = []
            self.modes.append(item)

    def take_mode(self, path):
        """The mode for an API request to path: the head of the queue, used up after count
        requests. A head with a path pattern the request does not match leaves it served
        normally, and is not used up."""
        with self.lock:
            if not self.modes:
                return "ok", {}
            item = self.modes[0]
            if item["path"] is not None and not re.fullmatch(item["path"], path):
                return "ok", {}
            if item["remaining"] is not None:
                item["remaining"] -= 1
                if item["remaining"] <= 0:
                    self.modes.pop(0)
            return item["mode"], item["params"]

    # --- rate limit -------------------------------------------------------------------
    def count_request(self, key):
        """Count one request for key; return (limit, remaining, reset, retry_after or None).

        A sliding one-hour window, as DigitalOcean describes ("each request has its own timer").
        retry_after is set when the request is over the limit and must get a 429."""
        now = time.time()
        limit = self.opts.rate_limit
        with self.lock:
            times = [t for t in self.rate.get(key, []) if t > now - HOUR]
            over = len(times) >= limit
            if not over:
                times.append(now)
            self.rate[key] = times
            reset = int((times[0] if times else now) + HOUR)
            remaining = max(limit - len(times), 0)
        retry_after = max(int(reset - now), 1) if over else None
        return limit, remaining, reset, retry_after

    # --- credentials ------------------------------------------------------------------
    def mint(self, registry, read_write, expiry_seconds, legacy=False):
        """Make and record one new registry credential; return (username, password)."""
        if self.opts.fixed_credential:
            username, _, password = self.opts.fixed_credential.partition(":")
        else:
            password = "dop_v1_" + secrets.token_hex(32)
            username = password if legacy else self.email
        now = time.time()
        record = {"username": username, "password": password, "read_write": read_write,
                  "expiry_seconds": expiry_seconds,
                  "expires_at": int(now + expiry_seconds) if expiry_seconds else None,
                  "registry": registry, "revoked": False, "created_at": now}
        with self.lock:
            self.minted.append(record)
            if self.opts.htpasswd:
                htpasswd_set(self.opts.htpasswd, username, password)
                self.htpasswd_current[username] = password
        return username, password

    def revoke(self, password):
        """Mark every live credential with this password revoked; False if there was none."""
        with self.lock:
            live = [m for m in self.minted if m["password"] == password and not m["revoked"]]
            for m in live:
                m["revoked"] = True
            if live and self.opts.htpasswd:
                user = live[0]["username"]
                if self.htpasswd_current.get(user) == password:
                    htpasswd_delete(self.opts.htpasswd, user)
                    del self.htpasswd_current[user]
        return bool(live)

    def counts(self):
        """API requests so far, per "METHOD /path" (queries left out)."""
        result = {}
        with self.lock:
            for r in self.requests:
                key = "%s %s" % (r["method"], r["path"])
                result[key] = result.get(key, 0) + 1
        return result

    def snapshot(self, what):
        with self.lock:
            return json.loads(json.dumps(getattr(self, what)))


def htpasswd_set(path, user, password):
    """Add or replace user in an htpasswd file, bcrypt, password on stdin (not in argv)."""
    args = ["htpasswd", "-iB"]
    if not os.path.exists(path):
        args.append("-c")
    subprocess.run(args + [path, user], input=password.encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def htpasswd_delete(path, user):
    subprocess.run(["htpasswd", "-D", path, user], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-do/1"

    def version_string(self):
        return self.server_version

    # --- connection set-up and tear-down ------------------------------------------------
    def setup(self):
        """Do the TLS handshake here, in the connection's own thread, not in accept()."""
        # Headers and body go out in separate writes: without this, Nagle plus the client's
        # delayed ACK adds 40 ms to every response.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = self.server.tls_context
        if context is not None:
            self.request.settimeout(10)
            self.request = context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        if self.server.tls_context is not None:
            # The server only knows the plain socket, which the TLS socket has taken over.
            try:
                self.request.close()
            except OSError:
                pass

    def log_message(self, fmt, *args):
        if not self.server.state.opts.quiet:
            sys.stderr.write("fake_do: %s\n" % (fmt % args))

    @property
    def state(self):
        return self.server.state

    # --- entry point for every method --------------------------------------------------
    def do_any(self):
        self.entry = None           # the request-log entry; a connection may carry several
        url = urlsplit(self.path)
        try:
            body = self.read_body()
        except ApiError as e:
            self.close_connection = True
            self.send_error_json(e.status, str(uuid.uuid4()), {})
            return
        if url.path.startswith("/_test/"):
            self.control(url.path, body)
        else:
            self.api(url, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_any

    def read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(400)
        if not length:
            return b""
        if not length.isdigit() or int(length) > MAX_REQUEST_BODY:
            raise ApiError(413)
        return self.rfile.read(int(length))

    # --- sending -------------------------------------------------------------------------
    def send(self, status, body=b"", headers=None, content_type=JSON_TYPE, length=True):
        """Send one complete response; headers with value None are left out."""
        self.send_response(status)
        merged = {}
        if body:
            merged["Content-Type"] = content_type
        merged.update(headers or {})
        for name, value in merged.items():
            if value is not None:
                self.send_header(name, str(value))
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        if self.entry is not None:
            self.entry["status"] = status

    def send_error_json(self, status, request_id, headers, err_id=None, message=None):
        self.send(status, error_body(status, request_id, err_id, message), headers)

    # --- the API -------------------------------------------------------------------------
    def api(self, url, body):
        request_id = str(uuid.uuid4())
        auth = self.headers.get("Authorization")
        self.entry = {
            "method": self.command, "path": url.path,
            "query": dict(parse_qsl(url.query, keep_blank_values=True)),
            "raw_query": url.query, "authorization": auth,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"), "time": time.time(),
            "status": None, "mode": None}
        self.state.log_request(self.entry)
        mode, params = self.state.take_mode(url.path)
        self.entry["mode"] = mode
        limit, remaining, reset, retry_after = self.state.count_request(bearer_token(auth) or "")
        headers = {"ratelimit-limit": limit, "ratelimit-remaining": remaining,
                   "ratelimit-reset": reset, "x-request-id": request_id}
        try:
            FAULTS.get(mode, Handler.fault_none)(self, params, url, body, headers, request_id,
                                                 retry_after)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def normal(self, url, body, request_id, retry_after, mode="ok", params=None):
        """The real API's answer: (status, body bytes, extra headers)."""
        try:
            if retry_after is not None:
                raise ApiError(429, headers={"retry-after": retry_after,
                                             "ratelimit-remaining": 0})
            result = self.route(url, body, mode, params or {})
            if result is None:
                return 200, b"", {}
            return 200, to_json(result), {}
        except ApiError as e:
            return e.status, error_body(e.status, request_id, e.err_id, e.message), e.headers

    def route(self, url, body, mode, params):
        """Dispatch one API request; return the JSON value to send or raise ApiError."""
        path = url.path
        if path == "/v1/oauth/revoke":
            require_method(self.command, "POST")
            return self.revoke(body)
        if path == "/v2/registry/docker-credentials":
            self.allow_get(FULL_SCOPES)
            return self.docker_credentials(url.query, None, mode, params)
        if path == "/v2/registry":
            self.allow_get(("registry:read",))
            return {"registry": registry_info(self.the_only_registry(), True)}
        if path in ("/v2/registry/subscription", "/v2/registries/subscription"):
            self.allow_get(("registry:read",))
            return {"subscription": subscription_info()}
        if path == "/v2/account":
            self.allow_get(ACCOUNT_SCOPES)
            return {"account": self.account_info()}
        if path == "/v2/registries":
            self.allow_get(("registry:read",))
            regs = [registry_info(r, False) for r in self.current_registries()]
            return {"registries": regs, "total_storage_usage_bytes": 29393920 * len(regs)}
        match = re.fullmatch(r"/v2/registries/([^/]+)(/docker-credentials)?", path)
        if match and match.group(2):
            self.allow_get(FULL_SCOPES)
            return self.docker_credentials(url.query, match.group(1), mode, params)
        if match:
            self.allow_get(("registry:read",))
            return {"registry": registry_info(self.named_registry(match.group(1)), False)}
        raise ApiError(404)

    def allow_get(self, scopes):
        """405 for other methods, then 401 without a known token, 403 without the scopes."""
        require_method(self.command, "GET")
        self.authorize(scopes)

    def authorize(self, scopes):
        token = bearer_token(self.headers.get("Authorization"))
        if token is None or token not in self.state.opts.token_scopes:
            raise ApiError(401)
        if not set(scopes) <= self.state.opts.token_scopes[token]:
            raise ApiError(403)

    def account_info(self):
        """models/account.yml of the OpenAPI spec: the token's account, with its team."""
        with self.state.lock:
            email, team = self.state.email, self.state.team
        return {"droplet_limit": 25, "floating_ip_limit": 5, "email": email,
                "name": email.partition("@")[0], "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
                "email_verified": True, "status": "active", "status_message": " ",
                "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": team}}

    def current_registries(self):
        with self.state.lock:
            return list(self.state.registries)

    def the_only_registry(self):
        """The deprecated single-registry paths: 404 with none, 412 with several."""
        regs = self.current_registries()
        if not regs:
            raise ApiError(404)
        if len(regs) > 1:
            raise ApiError(412)
        return regs[0]

    def named_registry(self, name):
        for reg in self.current_registries():
            if reg["name"] == name:
                return reg
        raise ApiError(404)

    def docker_credentials(self, query, name, mode, params):
        read_write, expiry = parse_credentials_query(query, self.state.opts.bad_query_status)
        reg = self.named_registry(name) if name else self.the_only_registry()
        if mode == "bad_auth":
            auth = params.get("auth", "not base64!")
        else:
            username, password = self.state.mint(reg["name"], read_write, expiry,
                                                 legacy=(mode == "legacy"))
            auth = base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
        return {"auths": {self.state.opts.registry_host: {"auth": auth}}}

    def revoke(self, body):
        """POST /v1/oauth/revoke: form token=<password>, authenticated by that same token."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise ApiError(415)
        try:
            form = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400)
        tokens = [v for k, v in form if k == "token"]
        if len(tokens) != 1 or not tokens[0]:
            raise ApiError(400)
        if bearer_token(self.headers.get("Authorization")) != tokens[0]:
            raise ApiError(401)
        if not self.state.revoke(tokens[0]):
            raise ApiError(401)
        return None

    # --- fault modes (each sends the whole response itself) -------------------------------
    def fault_none(self, params, url, body, headers, request_id, retry_after, mode="ok"):
        status, payload, extra = self.normal(url, body, request_id, retry_after, mode, params)
        headers.update(extra)
        self.send(status, payload, headers)

    def fault_legacy(self, params, url, body, headers, request_id, retry_after):
        self.fault_none(params, url, body, headers, request_id, retry_after, "legacy")

    def fault_bad_auth(self, params, url, body, headers, request_id, retry_after):
        self.fault_none(params, url, body, headers, request_id, retry_after, "bad_auth")

    def fault_status(self, params, url, body, headers, request_id, retry_after):
        status = int(params.get("status", 500))
        headers.update(params.get("headers") or {})
        if "body" in params:
            raw = params["body"].encode()
            self.send(status, raw, headers,
                      content_type=params.get("content_type", "text/html; charset=utf-8"))
        else:
            self.send_error_json(status, request_id, headers, params.get("id"),
                                 params.get("message"))

    def fault_rate_limited(self, params, url, body, headers, request_id, retry_after):
        headers["ratelimit-remaining"] = 0
        headers["ratelimit-reset"] = int(time.time() + float(params.get("reset_in", 60)))
        if "retry_after" in params:
            headers["retry-after"] = params["retry_after"]
        self.send_error_json(429, request_id, headers)

    def fault_silence(self, params, url, body, headers, request_id, retry_after):
        self.state.stopping.wait(float(params.get("seconds", 60)))
        self.close_connection = True

    def fault_delay(self, params, url, body, headers, request_id, retry_after):
        self.state.stopping.wait(float(params.get("seconds", 5)))
        self.fault_none(params, url, body, headers, request_id, retry_after)

    def fault_trickle(self, params, url, body, headers, request_id, retry_after):
        """The normal answer, but its body one byte every `interval` seconds."""
        status, payload, extra = self.normal(url, body, request_id, retry_after)
        headers.update(extra)
        interval = float(params.get("interval", 1))
        self.send(status, b"", dict(headers, **{"Content-Type": JSON_TYPE,
                                                 "Content-Length": len(payload)}), length=False)
        for i in range(len(payload)):
            self.wfile.write(payload[i:i + 1])
            self.wfile.flush()
            if self.state.stopping.wait(interval):
                break

    def fault_reset(self, params, url, body, headers, request_id, retry_after):
        """Close with a TCP RST (SO_LINGER 0) instead of answering."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def fault_malformed(self, params, url, body, headers, request_id, retry_after):
        raw = params.get("body", '{"auths":{"registry.digitalocean.com":{"auth":"dGVzdEBl')
        self.send(int(params.get("status", 200)), raw.encode(), headers)

    def fault_huge(self, params, url, body, headers, request_id, retry_after):
        """A 200 JSON body of `size` bytes, streamed; without Content-Length if length=false."""
        size = int(params.get("size", 64 << 20))
        head = ('{"auths":{"%s":{"auth":"' % self.state.opts.registry_host).encode()
        tail = b'"}}}'
        fill = max(size - len(head) - len(tail), 0)
        with_length = params.get("content_length", True)
        headers["Content-Type"] = JSON_TYPE
        if with_length:
            headers["Content-Length"] = len(head) + fill + len(tail)
        else:
            headers["Connection"] = "close"
            self.close_connection = True
        self.send(200, b"", headers, length=False)
        self.wfile.write(head)
        chunk = b"A" * 65536
        while fill > 0:
            self.wfile.write(chunk[:fill])
            fill -= min(fill, len(chunk))
        self.wfile.write(tail)

    def fault_redirect(self, params, url, body, headers, request_id, retry_after):
        headers["Location"] = params.get("location", "http://127.0.0.1:9/")
        self.send(int(params.get("status", 302)), b"", headers)

    # --- test control ----------------------------------------------------------------------
    def control(self, path, body):
        """The /_test/ endpoints; not part of DigitalOcean's API, no auth."""
        routes = {("GET", "/_test/requests"): lambda: self.state.snapshot("requests"),
                  ("GET", "/_test/minted"): lambda: self.state.snapshot("minted"),
                  ("GET", "/_test/counts"): self.state.counts,
                  ("GET", "/_test/mode"): lambda: self.state.snapshot("modes"),
                  ("GET", "/_test/help"): lambda: CONTROL_HELP,
                  ("POST", "/_test/mode"): lambda: self.control_mode(body),
                  ("POST", "/_test/config"): lambda: self.control_config(body),
                  ("POST", "/_test/reset"): self.control_reset,
                  ("POST", "/_test/shutdown"): self.control_shutdown}
        action = routes.get((self.command, path))
        if action is None:
            self.send(404, to_json({"error": "no such control endpoint"}))
            return
        try:
            self.send(200, to_json(action()))
        except (ValueError, TypeError, AttributeError) as e:
            self.send(400, to_json({"error": str(e)}))

    def control_mode(self, body):
        spec = json.loads(body or b"{}")
        if not isinstance(spec, dict):
            raise ValueError("body must be a JSON object")
        self.state.set_mode(spec)
        return {"ok": True, "modes": self.state.snapshot("modes")}

    def control_config(self, body):
        spec = json.loads(body or b"{}")
        with self.state.lock:
            if "registries" in spec:
                self.state.registries = parse_registries(spec["registries"])
            if "email" in spec:
                self.state.email = str(spec["email"])
            if "team" in spec:
                self.state.team = str(spec["team"])
        return {"ok": True}

    def control_reset(self):
        self.state.reset()
        return {"ok": True}

    def control_shutdown(self):
        self.state.stopping.set()
        threading.Thread(target=self.server.shutdown, daemon=True).start()
        return {"ok": True}


FAULTS = {name: getattr(Handler, "fault_" + name) for name in MODES if name != "ok"}


def bearer_token(header):
    """The token of "Authorization: Bearer <token>", or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_method(method, allowed):
    if method != allowed:
        raise ApiError(405, headers={"Allow": allowed})


def parse_credentials_query(query, bad_status):
    """read_write must be exactly true/false, expiry_seconds a decimal 0..1576800000.

    Anything else (repeats, empty values, 1/0, signs, out of range) is refused with bad_status,
    DigitalOcean's answer being unconfirmed (apis-detail Q1)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise ApiError(bad_status, message="invalid query string")
    values = {}
    for key, value in pairs:
        if key in values:
            raise ApiError(bad_status, message="%s given more than once" % key)
        values[key] = value
    read_write = values.get("read_write", "false")
    if read_write not in ("true", "false"):
        raise ApiError(bad_status, message="read_write must be true or false")
    expiry = values.get("expiry_seconds", "0")
    if not (expiry.isascii() and expiry.isdigit()) or int(expiry) > MAX_EXPIRY_SECONDS:
        raise ApiError(bad_status,
                       message="expiry_seconds must be between 0 and %d" % MAX_EXPIRY_SECONDS)
    return read_write == "true", int(expiry)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        """One short line instead of a traceback (TLS refusals are expected in tests)."""
        if not self.state.opts.quiet:
            exc = sys.exc_info()[1]
            sys.stderr.write("fake_do: connection from %s: %s\n"
                             % (client_address[0], exc.__class__.__name__))


def parse_args(argv):
    p = argparse.ArgumentParser(description="Fake DigitalOcean API for tests.")
    p.add_argument("--cert", help="server certificate (PEM)")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--plain", action="store_true", help="plain HTTP, no TLS")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--token", action="append", default=[],
                   help="a valid API token with all registry scopes (repeatable; "
                        "default dop_v1_testtoken)")
    p.add_argument("--token-scopes", action="append", default=[], metavar="TOKEN=SCOPES",
                   dest="scoped_tokens",
                   help="a valid API token with only these comma-separated scopes")
    p.add_argument("--registries", default="test-registry",
                   help="comma-separated registry names (name or name:region); '' for none")
    p.add_argument("--email", default="test@example.com",
                   help="the account's e-mail (GET /v2/account), username of minted credentials")
    p.add_argument("--team", default="My Team", help="the account's team name (GET /v2/account)")
    p.add_argument("--registry-host", default=DEFAULT_REGISTRY_HOST, help="the auths key")
    p.add_argument("--fixed-credential", metavar="USER:PASSWORD",
                   help="every mint returns this credential")
    p.add_argument("--htpasswd", metavar="FILE",
                   help="add each minted credential to this htpasswd file (bcrypt)")
    p.add_argument("--rate-limit", type=int, default=5000, help="requests per hour per token")
    p.add_argument("--bad-query-status", type=int, default=422, choices=(400, 422),
                   help="status for invalid read_write/expiry_seconds")
    p.add_argument("--quiet", action="store_true", help="no per-request lines on stderr")
    opts = p.parse_args(argv)
    if not opts.plain and not (opts.cert and opts.key):
        p.error("--cert and --key are required unless --plain")
    if opts.htpasswd and not shutil.which("htpasswd"):
        p.error("--htpasswd needs the htpasswd program (Debian package apache2-utils)")
    if opts.fixed_credential is not None and ":" not in opts.fixed_credential:
        p.error("--fixed-credential must be USER:PASSWORD")
    # token -> set of scopes; without --token the default token is valid.
    opts.token_scopes = {}
    for token in opts.token or ["dop_v1_testtoken"]:
        opts.token_scopes[token] = set(FULL_SCOPES + ACCOUNT_SCOPES)
    for item in opts.scoped_tokens:
        token, sep, scopes = item.partition("=")
        if not sep or not token:
            p.error("--token-scopes wants TOKEN=SCOPE[,SCOPE...]")
        opts.token_scopes[token] = {s for s in scopes.replace(" ", ",").split(",") if s}
    return opts


def make_server(opts):
    family = socket.AF_INET6 if ":" in opts.bind else socket.AF_INET
    server_class = type("FakeDoServer", (Server,), {"address_family": family})
    server = server_class((opts.bind, opts.port), Handler)
    server.state = State(opts)
    server.tls_context = None
    if not opts.plain:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(opts.cert, opts.key)
        server.tls_context = context
    return server


def main(argv):
    opts = parse_args(argv)
    server = make_server(opts)
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.state.stopping.set()
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
