#!/usr/bin/env python3
"""A stateful fake Rancher 1.x (Cattle) API server, for testing the helper's Rancher source.

The helper writes docker logins into Rancher as registryCredential resources (and reads them
back only with environmentAdmin keys). This server plays Rancher's part on loopback so the C
client can be tested against a faithful, strict API, with faults on demand.

Contract followed (all in /work/shared/docs): apis.md "Rancher 1.x"; apis-detail.md sections 2.1
to 2.6 and "A.2 Fake Rancher 1.x"; addendum R1 (secretValue write-only), R2 (DELETE on active is
405), R3 (duplicate publicValue allowed), R4 (project scoping: 400/403), R7. Where those were
unsettled the stricter reading was taken; each such choice is marked "Choice:" below.

Usage:
    fake_rancher.py --cert C --key K [--port 0] [--bind 127.0.0.1] [--plain]
                    [--page-size N] [--transition-steps N]
                    [--api-key ACCESS:SECRET:ROLE:PROJECT ...] [--project ID ...] [--verbose]
Prints "READY <port>" once bound, then serves until killed. ROLE is `environment` (environment
API key), `account` (user key: needs the project in the URL; PROJECT may be `*` or a comma
list) or `envadmin` (environmentAdmin service key: reads secretValue). A --key value of the
form ACCESS:SECRET:ROLE:PROJECT is taken as an --api-key (see split_key_args).

Transitions (registering -> active, deactivating -> inactive, removing -> removed, ...) never
end by the clock: each lasts a number of API requests (steps). A transition begun while
answering request k ends as request k + N arrives, before it is answered (N from
--transition-steps, default 1: the next request sees the end state). N = 0 holds every
transition until the test ends it (/_test/settle or /_test/step). So what a client sees depends
only on the order of its requests, never on how fast the machine is.

Test control (no auth), all JSON:
    GET  /_test/state      every registry and credential, removed ones too, with secretValue
    GET  /_test/requests   log of API requests {method, path, query, access_key, body, status}
    DELETE /_test/requests clear that log
    POST /_test/reset      forget all resources, faults and the log (keys stay)
    POST /_test/seed       {"registries":[{"project","serverAddress","name","state",
                             "credentials":[{"publicValue","secretValue","email","name","state"}]}]}
    POST /_test/settle     finish every pending transition now (held ones too)
    POST /_test/step       {"count": N}: advance counted transitions by N steps (default 1),
                           as N requests would; held ones stay
    POST /_test/transitions {"steps": N}: how many requests new transitions last from now on
                           (0: held until settled); reset restores --transition-steps
    POST /_test/mode       {"mode": M, "count": N, ...}: a fault for the next N API requests
                           (default: until reset or mode "normal"). M is one of
                           status (status, code, message, html), silence (seconds),
                           delay (seconds), fail_action (op, type), stuck_transitioning
                           (steps, type: the next transition of that type lasts `steps`
                           requests, or is held until settled when steps is absent),
                           omit_headers (headers: names left out of answers, e.g. the
                           X-Api-Account-Kind an older Rancher may not send),
                           ignore_filters (lists answer every item, as a server that does
                           not honour state=, registryId=, … would; count counts lists),
                           normal (clear all faults).
"""

import argparse
import base64
import binascii
import copy
import hmac
import json
import re
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

VERSIONS = ("v1", "v2-beta")
REALM = 'Basic realm="Enter API access key and secret key as username and password"'
USER_ACCOUNT_ID = "1a1"          # the account an account key (a user) acts as without a project
RANCHER_VERSION = "v1.6.17"
PROJECT_ID = re.compile(r"1a[0-9]+")
MAX_LIMIT = 3000                  # cattle's maxLimit
HANDSHAKE_TIMEOUT = 10

# Codes from cattle api/messages.properties; the message defaults to the code (section 2.5).
STATUS_CODES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method not allowed", 409: "Conflict", 422: "Unprocessable Entity",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Kind:
    """One resource type: its names, id prefix and which fields the client may touch."""

    def __init__(self, name, plural, prefix, base, create, update, filters):
        self.name, self.plural, self.prefix, self.base = name, plural, prefix, base
        self.create = create      # writable on create (v1 adds email for credentials)
        self.update = update      # writable on PUT
        self.filters = filters    # DB-column fields: the only filterable ones (section 2.3)


COMMON_FILTERS = ("id", "name", "state", "kind", "accountId", "uuid", "created", "removed")
KINDS = {
    "registry": Kind("registry", "registries", "1sp", "storagePool",
                     create=("serverAddress", "name", "description"),
                     update=("name", "description"),
                     filters=COMMON_FILTERS + ("description",)),
    "registryCredential": Kind("registryCredential", "registryCredentials", "1c", "credential",
                               create=("registryId", "publicValue", "secretValue", "name",
                                       "description"),
                               update=("publicValue", "secretValue", "name", "description"),
                               filters=COMMON_FILTERS + ("description", "registryId",
                                                         "publicValue")),
}
# Type lookup is case-insensitive and takes the singular too (section 2.2).
TYPE_NAMES = {"registries": "registry", "registry": "registry",
              "registrycredentials": "registryCredential",
              "registrycredential": "registryCredential"}
MODIFIERS = ("eq", "ne", "lt", "lte", "gt", "gte", "prefix", "like", "notlike", "null", "notnull")

# Generic process table (section 2.6): action -> (start states, transitioning state, end state).
UPDATING = ("updating-active", "updating-inactive")
PROCESSES = {
    "activate": (("inactive", "registering"), "activating", "active"),
    "deactivate": (("registering", "active", "activating") + UPDATING, "deactivating", "inactive"),
    "remove": (("inactive", "registering") + UPDATING, "removing", "removed"),
    "purge": (("removed",), "purging", "purged"),
    "restore": (("removed",), "restoring", "inactive"),        # frozen v1 schema only
}
UPDATE_STATES = ("active", "inactive")
# Where each transitioning state ends (used for seeded resources).
ENDS = {"registering": "active", "activating": "active", "deactivating": "inactive",
        "removing": "removed", "purging": "purged", "restoring": "inactive",
        "updating-active": "active", "updating-inactive": "inactive"}


class ApiError(Exception):
    """A Rancher error response: status, code, message (defaults to the code), fieldName."""

    def __init__(self, status, code=None, message=None, field=None, detail=None):
        super().__init__(code)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "Error")
        self.message = message or self.code
        self.field = field
        self.detail = detail

    def body(self):
        body = {"id": str(uuid.uuid4()), "type": "error", "links": {}, "actions": {},
                "status": self.status, "code": self.code, "message": self.message,
                "detail": self.detail, "baseType": "error"}
        if self.field is not None:
            body["fieldName"] = self.field
        return body


class Response:
    def __init__(self, status, obj, headers=None, raw=None, content_type=None):
        self.status, self.obj, self.headers = status, obj, dict(headers or {})
        self.raw = raw                      # bytes sent as they are (e.g. an HTML error page)
        self.content_type = content_type or "application/json; charset=utf-8"


class Key:
    """An API key. role: environment | account | envadmin."""

    def __init__(self, access, secret, role, projects):
        self.access, self.secret, self.role, self.projects = access, secret, role, projects

    @property
    def own_project(self):
        """Environment and envadmin keys *are* their project (their account is the project)."""
        return None if self.role == "account" else self.projects[0]

    @property
    def account_kind(self):
        return {"environment": "project", "account": "user", "envadmin": "projectadmin"}[self.role]

    def reads_secrets(self):
        return self.role == "envadmin"   # projectadmin-auth.json: secretValue "cur" (R1)

    def can_access(self, project):
        return "*" in self.projects or project in self.projects


class Resource:
    """A registry or registryCredential. `pending` is (end state, steps left) while
    transitioning; steps left is None for a transition held until the test settles it."""

    def __init__(self, kind, rid, project, fields, state="active", pending=None):
        self.kind, self.id, self.project, self.fields = kind, rid, project, fields
        self.state, self.pending = state, pending
        self.created = time.time()
        self.removed = self.created if state in ("removed", "purged") else None
        self.uuid = str(uuid.uuid4())

    def begin(self, transitional, end, steps):
        self.state, self.pending = transitional, (end, steps)

    def step(self, force=False):
        """One step of the pending transition (or all of it, with force); ends it at zero."""
        if not self.pending:
            return
        end, left = self.pending
        if not force:
            if left is None:
                return                   # held until the test settles it
            left -= 1
            if left > 0:
                self.pending = (end, left)
                return
        self.state, self.pending = end, None
        if end == "removed":
            self.removed = time.time()
        elif end in ("active", "inactive"):
            self.removed = None          # restore brings a removed resource back

    def field(self, name):
        """The value a filter or sort on `name` sees (None is SQL NULL)."""
        special = {"id": self.id, "state": self.state, "kind": self.kind,
                   "accountId": self.project, "uuid": self.uuid, "created": iso(self.created),
                   "removed": iso(self.removed)}
        return special[name] if name in special else self.fields.get(name)


def iso(t):
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def id_number(rid):
    digits = re.sub(r"^[0-9]?[a-z]+", "", rid)
    return int(digits) if digits.isdigit() else 0


def encode_json(obj):
    """Compact UTF-8 JSON with every `/` escaped as `\\/`, as cattle's Jackson does (2.2).
    A `/` can only occur inside JSON strings, so a plain replace is safe."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/").encode()


class Request:
    def __init__(self, method, path, query, headers, body, base):
        self.method, self.path, self.raw_query = method, path, query
        self.query = parse_qsl(query, keep_blank_values=True)
        self.headers, self.body, self.base = headers, body, base

    def param(self, name):
        return next((v for k, v in self.query if k == name), None)

    def has_param(self, name):
        return any(k == name for k, _ in self.query)

    def json_body(self):
        """The body as a JSON object ({} when empty); 422 InvalidBodyContent otherwise."""
        if not self.body.strip():
            return {}
        try:
            obj = json.loads(self.body)
        except ValueError:
            raise ApiError(422, "InvalidBodyContent")
        if not isinstance(obj, dict):
            raise ApiError(422, "InvalidBodyContent")
        return obj

    def access_key(self):
        """The access key the request claims (even a wrong one), for the request log."""
        try:
            return basic_credentials(self.headers.get("Authorization", ""))[0]
        except ValueError:
            return None


def basic_credentials(header):
    if not header.lower().startswith("basic "):
        raise ValueError("not basic")
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("bad basic")
    access, sep, secret = decoded.partition(":")
    if not sep:
        raise ValueError("no colon")
    return access, secret


class Ctx:
    """What one authenticated API request resolved to: version, key, project and base URL."""

    def __init__(self, ver, key, project, base):
        self.ver, self.key, self.project, self.base = ver, key, project, base

    @property
    def account_id(self):
        return self.project or USER_ACCOUNT_ID

    def url(self, *parts):
        """Absolute lowercase link (DefaultUrlBuilder lowercases), project-prefixed if scoped."""
        path = "/" + self.ver
        if self.project:
            path += "/projects/" + self.project
        for part in parts:
            path += "/" + part
        return self.base + path.lower()


class FakeRancher:
    """All state and API behaviour. serve() and control() take the one lock; every other
    method runs under it."""

    def __init__(self, keys, projects, page_size, transition_steps):
        self.lock = threading.Lock()
        self.keys = {k.access: k for k in keys}
        self.base_projects = list(projects)
        self.page_size = page_size
        self.base_steps = transition_steps
        self.reset()

    # ----- state -----

    def reset(self):
        self.resources = {}                     # id -> Resource, in creation order
        self.next_number = {"registry": 1, "registryCredential": 1}
        self.projects = set(self.base_projects)
        for key in self.keys.values():
            self.projects.update(p for p in key.projects if p != "*")
        self.faults = {}                        # mode -> parameters
        self.log = []
        self.steps = self.base_steps            # how many requests a new transition lasts

    def transition_steps(self):
        """What a transition begun now lasts: self.steps requests, None (held) when 0."""
        return self.steps or None

    def new_resource(self, kind, project, fields, state="active", pending=None):
        if pending is None and state in ENDS:
            pending = (ENDS[state], self.transition_steps())
        rid = KINDS[kind].prefix + str(self.next_number[kind])
        self.next_number[kind] += 1
        res = Resource(kind, rid, project, fields, state, pending)
        self.resources[rid] = res
        self.projects.add(project)
        return res

    def step_all(self, count=1, force=False):
        """Advance every pending transition by count steps (force: end them all, held too)."""
        for res in self.resources.values():
            for _ in range(1 if force else count):
                res.step(force)

    def of_kind(self, kind, project):
        return [r for r in self.resources.values() if r.kind == kind and r.project == project]

    def credentials_of(self, registry):
        return [r for r in self.of_kind("registryCredential", registry.project)
                if r.fields.get("registryId") == registry.id]

    # ----- faults -----

    def take_fault(self, mode, matches=None):
        """The fault for `mode` if set (and `matches` accepts it); uses up one of its count."""
        fault = self.faults.get(mode)
        if fault is None or (matches and not matches(fault)):
            return None
        if fault.get("count") is not None:
            fault["count"] -= 1
            if fault["count"] <= 0:
                del self.faults[mode]
        return fault

    def maybe_fail(self, op, kind):
        """fail_action: the next `count` operations `op` answer 500, state unchanged."""
        def matches(fault):
            return fault.get("op") == op and fault.get("type", kind) == kind
        if self.take_fault("fail_action", matches):
            raise ApiError(500, message="fake_rancher: injected failure of " + op)

    # ----- the HTTP entry point -----

    def serve(self, req):
        """Answer one API request; None means: say nothing (silence fault)."""
        with self.lock:
            entry = {"method": req.method, "path": req.path, "query": req.raw_query,
                     "access_key": req.access_key(), "body": loggable(req.body), "status": None}
            self.log.append(entry)
            self.step_all()          # Rancher's background work between two requests
            silence = self.take_fault("silence")
            delay = None if silence else self.take_fault("delay")
        if silence:
            time.sleep(float(silence.get("seconds", 60)))
            return None
        if delay:
            time.sleep(float(delay.get("seconds", 1)))
        with self.lock:
            resp = self.answer(req)
            entry["status"] = resp.status
        return resp

    def answer(self, req):
        parts = [p for p in req.path.split("/") if p]
        ver = parts[0] if parts and parts[0] in VERSIONS else "v2-beta"
        schemas = req.base + "/" + ver + "/schemas"
        fault = self.take_fault("status")
        if fault:
            return fault_response(fault, schemas)
        ctx = None
        try:
            key = self.authenticate(req)
            if not parts or parts[0] not in VERSIONS:
                raise ApiError(404)
            ctx, rest = self.scope(req, ver, key, parts[1:])
            resp = self.route(ctx, rest, req)
        except ApiError as err:
            resp = Response(err.status, err.body())
            if err.status == 401 and req.headers.get("X-API-No-Challenge", "").lower() != "true":
                resp.headers["WWW-Authenticate"] = REALM
        resp.headers["X-API-Schemas"] = ctx.url("schemas") if ctx else schemas
        if ctx:
            # Added only after authentication and scoping succeed (R4).
            resp.headers["X-Api-Account-Id"] = ctx.account_id
            resp.headers["X-Api-User-Id"] = USER_ACCOUNT_ID
            resp.headers["X-Api-Account-Kind"] = ctx.key.account_kind
        resp.headers["X-Rancher-Version"] = RANCHER_VERSION
        omit = self.take_fault("omit_headers")
        if omit:
            gone = {h.lower() for h in omit.get("headers", [])}
            resp.headers = {k: v for k, v in resp.headers.items() if k.lower() not in gone}
        return resp

    def authenticate(self, req):
        try:
            access, secret = basic_credentials(req.headers.get("Authorization", ""))
        except ValueError:
            raise ApiError(401)
        key = self.keys.get(access)
        if key is None or not hmac.compare_digest(key.secret.encode(), secret.encode()):
            raise ApiError(401)
        return key

    def scope(self, req, ver, key, rest):
        """Resolve the project (R4): /projects/<id>/ prefix, else X-API-Project-Id header, else
        ?projectId=, else the key's own project. Returns the context and the remaining path."""
        requested = None
        if len(rest) >= 2 and rest[0].lower() == "projects":
            requested = rest[1]
            if len(rest) > 2:
                rest = rest[2:]           # a scope prefix; /projects/<id> alone is the project
        else:
            requested = req.headers.get("X-API-Project-Id") or req.param("projectId")
        if requested:
            if not PROJECT_ID.fullmatch(requested):
                raise ApiError(400, "InvalidFormat",
                               "projectId header format is incorrect " + requested)
            if requested not in self.projects or not key.can_access(requested):
                raise ApiError(403)
            project = requested
        else:
            project = key.own_project
        return Ctx(ver, key, project, req.base), rest

    # ----- routing -----

    def route(self, ctx, rest, req):
        if not rest:
            return self.only_get(req, lambda: self.api_root(ctx))
        head = rest[0].lower()
        if head == "projects":
            if len(rest) == 1:
                return self.only_get(req, lambda: self.project_list(ctx))
            if len(rest) == 2:
                return self.only_get(req, lambda: self.project_resource(ctx, rest[1]))
            raise ApiError(404)
        if head == "schemas" and len(rest) <= 2:
            return self.only_get(req, lambda: self.schemas(ctx, rest[1:]))
        kind = TYPE_NAMES.get(head)
        if kind is None or len(rest) > 2:
            raise ApiError(404)
        if len(rest) == 1:
            return self.collection(ctx, kind, req)
        return self.resource(ctx, kind, rest[1], req)

    @staticmethod
    def only_get(req, produce):
        if req.method != "GET":
            raise ApiError(405)
        return Response(200, produce())

    def collection(self, ctx, kind, req):
        if req.method == "GET":
            return Response(200, self.list(ctx, kind, req))
        if req.method == "POST":
            return self.create(ctx, kind, req)
        raise ApiError(405)

    def resource(self, ctx, kind, rid, req):
        res = self.resources.get(rid)
        if res is None or res.kind != kind or res.project != ctx.project:
            raise ApiError(404)
        action = req.param("action")
        if req.method == "POST" and action is not None:
            return self.action(ctx, res, action, req)
        if req.method == "GET":
            return Response(200, self.render(ctx, res, ctx.key.reads_secrets()))
        if req.method == "PUT":
            return self.update(ctx, res, req)
        if req.method == "DELETE":
            return self.delete(ctx, res)
        raise ApiError(405)

    # ----- discovery -----

    def api_root(self, ctx):
        links = {"self": ctx.base + "/" + ctx.ver, "schemas": ctx.url("schemas"),
                 "projects": ctx.base + "/" + ctx.ver + "/projects"}
        for kind in KINDS.values():
            links[kind.plural.lower()] = ctx.url(kind.plural)
        return {"id": ctx.ver, "type": "apiVersion", "links": links, "actions": {}}

    def project_json(self, ctx, pid):
        scoped = Ctx(ctx.ver, ctx.key, pid, ctx.base)
        links = {"self": ctx.base + "/" + ctx.ver + "/projects/" + pid,
                 "schemas": scoped.url("schemas")}
        for kind in KINDS.values():
            links[kind.plural.lower()] = scoped.url(kind.plural)
        return {"id": pid, "type": "project", "baseType": "account", "kind": "project",
                "name": "Environment " + pid, "state": "active", "links": links, "actions": {}}

    def project_resource(self, ctx, pid):
        return self.project_json(ctx, pid)     # scope() already checked access to pid

    def project_list(self, ctx):
        visible = sorted((p for p in self.projects if ctx.key.can_access(p)), key=id_number)
        data = [self.project_json(ctx, p) for p in visible]
        return simple_collection("project", ctx.base + "/" + ctx.ver + "/projects", data)

    def schemas(self, ctx, rest):
        if rest:
            kind = TYPE_NAMES.get(rest[0].lower())
            if kind is None:
                raise ApiError(404)
            return self.schema(ctx, kind)
        data = [self.schema(ctx, kind) for kind in KINDS]
        return simple_collection("schema", ctx.url("schemas"), data)

    def schema(self, ctx, kind):
        spec = KINDS[kind]
        string = {"type": "string", "create": True, "update": True, "nullable": True}
        fields = {"name": dict(string), "description": dict(string)}
        if kind == "registry":
            fields["serverAddress"] = {"type": "string", "create": True, "update": False,
                                       "required": True, "nullable": False, "minLength": 1}
        else:
            fields["registryId"] = {"type": "reference[registry]", "create": True,
                                    "update": False, "required": True, "nullable": False}
            fields["publicValue"] = dict(string)
            fields["secretValue"] = dict(string, type="password")
            if ctx.ver == "v1":
                fields["email"] = dict(string, required=True, nullable=False, minLength=1)
        actions = {a: {"input": None, "output": kind} for a in self.action_names(ctx.ver)}
        filters = {f: {"modifiers": list(MODIFIERS)} for f in spec.filters}
        return {"id": kind, "type": "schema", "parent": spec.base, "pluralName": spec.plural,
                "links": {"self": ctx.url("schemas", kind), "collection": ctx.url(spec.plural)},
                "actions": {}, "resourceMethods": ["GET", "PUT", "DELETE"],
                "collectionMethods": ["GET", "POST"], "resourceFields": fields,
                "resourceActions": actions, "collectionFilters": filters}

    # ----- rendering -----

    @staticmethod
    def action_names(ver):
        return [a for a in PROCESSES if a != "restore" or ver == "v1"]

    def available_actions(self, ctx, res):
        """The actions map shows only what the state allows (section 2.6)."""
        self_url = ctx.url(KINDS[res.kind].plural, res.id)
        names = [a for a in self.action_names(ctx.ver) if res.state in PROCESSES[a][0]]
        if res.state in UPDATE_STATES:
            names.append("update")
        return {a: self_url + "/?action=" + a for a in names}

    def render(self, ctx, res, show_secret):
        spec = KINDS[res.kind]
        out = {"id": res.id, "type": res.kind, "baseType": spec.base, "kind": res.kind,
               "accountId": res.project, "name": res.fields.get("name"),
               "description": res.fields.get("description"), "state": res.state,
               "created": iso(res.created), "createdTS": int(res.created * 1000),
               "removed": iso(res.removed), "removeTime": iso(res.removed),
               "transitioning": "yes" if res.pending else "no",
               "transitioningMessage": "In Progress" if res.pending else None,
               "transitioningProgress": None, "uuid": res.uuid}
        links = {"self": ctx.url(spec.plural, res.id),
                 "account": ctx.url("accounts", res.project)}
        if res.kind == "registry":
            out.update({"serverAddress": res.fields.get("serverAddress"),
                        "blockDevicePath": None, "driverName": None, "externalId": None,
                        "volumeAccessMode": None, "volumeCapabilities": None})
        else:
            out["registryId"] = res.fields.get("registryId")
            out["publicValue"] = res.fields.get("publicValue")
            # Write-only: null on every read except for environmentAdmin keys (R1).
            out["secretValue"] = res.fields.get("secretValue") if show_secret else None
            if ctx.ver == "v1":
                out["email"] = res.fields.get("email")
            links["registry"] = ctx.url("registries", res.fields.get("registryId") or "")
        out["links"] = links
        out["actions"] = self.available_actions(ctx, res)
        return out

    # ----- lists -----

    def list(self, ctx, kind, req):
        spec = KINDS[kind]
        # Choice: an account key without a project acts as its user account, which owns no
        # registries: lists are empty (and writes are refused, see create).
        items = self.of_kind(kind, ctx.project) if ctx.project else []
        if not req.has_param("_removed"):
            items = [r for r in items if r.removed is None]
        filters = parse_filters(req.query, spec.filters)
        if not self.take_fault("ignore_filters"):
            items = [r for r in items if matches_filters(r, filters)]
        sort_field, order = sort_of(req, spec.filters)
        items = sort_items(items, sort_field, order)

        coll_url = ctx.url(spec.plural)
        limit = parse_limit(req.param("limit"), self.page_size)
        offset = parse_marker(req.param("marker"))
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        next_url = coll_url + "?" + with_param(req.query, "marker", "m%d" % (offset + limit)) \
            if more else None
        self_url = coll_url + ("?" + req.raw_query if req.raw_query else "")
        sort = None
        if sort_field:
            reverse = with_param(req.query, "order", "asc" if order == "desc" else "desc")
            sort = {"name": sort_field, "order": order, "reverse": coll_url + "?" + reverse}
        show = ctx.key.reads_secrets()
        return {
            "type": "collection", "resourceType": kind,
            "links": {"self": self_url},
            "createTypes": {kind: coll_url},
            "actions": {},
            "data": [self.render(ctx, r, show) for r in page],
            "sortLinks": {f: coll_url + "?sort=" + f for f in spec.filters},
            # Choice (Q9 open): first/previous/total always null, as in the doc's example.
            "pagination": {"first": None, "previous": None, "next": next_url,
                           "limit": limit, "total": None, "partial": more},
            "sort": sort,
            "filters": {f: ([{"modifier": m, "value": v} for (ff, m, v) in filters if ff == f]
                            or None) for f in spec.filters},
            "createDefaults": {},
        }

    # ----- writes -----

    def create(self, ctx, kind, req):
        if ctx.project is None:
            # Choice: the user account's policy has no create on these types (user-auth "r").
            raise ApiError(405)
        body = req.json_body()
        self.maybe_fail("create", kind)
        fields = {}
        if kind == "registry":
            self.check_registry(ctx, body)
        else:
            self.check_credential(ctx, body)
            if ctx.ver == "v1":
                fields["email"] = body["email"]
        for name in KINDS[kind].create:
            check_string(body, name)
            if body.get(name) is not None:
                fields[name] = body[name]
        steps = self.transition_steps()
        stuck = self.take_fault("stuck_transitioning",
                                lambda f: f.get("type", "registryCredential") == kind)
        if stuck:
            steps = stuck.get("steps")       # None: held until the test settles it
        res = self.new_resource(kind, ctx.project, fields, "registering", ("active", steps))
        # The create response is the only one carrying secretValue in clear (R1).
        return Response(201, self.render(ctx, res, show_secret=True))

    def check_registry(self, ctx, body):
        address = body.get("serverAddress")
        check_string(body, "serverAddress")
        if not address:
            raise ApiError(422, "MissingRequired", field="serverAddress")
        for other in self.of_kind("registry", ctx.project):
            same = (other.fields.get("serverAddress") or "").lower() == address.lower()
            if same and other.removed is None:
                raise ApiError(400, "ServerAddressUsed")

    def check_credential(self, ctx, body):
        # Fields are validated in schema (alphabetical) order: email before registryId.
        if ctx.ver == "v1":
            check_string(body, "email")
            if not body.get("email"):
                raise ApiError(422, "MissingRequired", field="email")
        rid = body.get("registryId")
        if rid is None or rid == "":
            raise ApiError(422, "MissingRequired", field="registryId")
        reg = self.resources.get(rid) if isinstance(rid, str) else None
        # Choice: a removed registry is no longer a valid reference.
        if reg is None or reg.kind != "registry" or reg.project != ctx.project \
                or reg.removed is not None:
            raise ApiError(422, "InvalidReference", field="registryId")

    def update(self, ctx, res, req):
        body = req.json_body()
        self.maybe_fail("update", res.kind)
        writable = KINDS[res.kind].update + (("email",) if res.kind == "registryCredential"
                                             and ctx.ver == "v1" else ())
        for name in writable:
            check_string(body, name)
        if res.state not in UPDATE_STATES:
            # Choice: the update process is cancelled outside active/inactive; R2 maps a
            # cancel inside scheduling to 409 Conflict.
            raise ApiError(409)
        for name in writable:       # unknown and read-only fields are ignored (section 2.6)
            if name in body:
                res.fields[name] = body[name]
        start = res.state
        res.begin("updating-" + start, start, self.transition_steps())
        return Response(200, self.render(ctx, res, ctx.key.reads_secrets()))

    def action(self, ctx, res, name, req):
        if name == "update":        # listed in the actions map; does what PUT does
            return self.update(ctx, res, req)
        if name not in self.action_names(ctx.ver):
            raise ApiError(422, "InvalidAction", field="action")
        self.maybe_fail(name, res.kind)
        if res.state not in PROCESSES[name][0]:
            raise ApiError(422, "ActionNotAvailable", field="action")
        self.run_process(res, name)
        return Response(200, self.render(ctx, res, ctx.key.reads_secrets()))

    def delete(self, ctx, res):
        self.maybe_fail("delete", res.kind)
        if res.state not in PROCESSES["remove"][0]:
            raise ApiError(405)     # ProcessCancelException in deleteInternal (R2)
        self.run_process(res, "remove")
        return Response(200, self.render(ctx, res, ctx.key.reads_secrets()))

    def run_process(self, res, name):
        _, transitional, end = PROCESSES[name]
        steps = self.transition_steps()
        res.begin(transitional, end, steps)
        if res.kind == "registry" and name == "remove":
            # Removing a registry removes its credentials, whatever their state (2.6).
            for cred in self.credentials_of(res):
                if cred.removed is None and cred.state != "removing":
                    cred.begin("removing", "removed", steps)

    # ----- test control -----

    def control(self, method, path, body):
        """The /_test/ API: returns (status, JSON object). The object is a deep copy, so it can
        be serialised outside the lock."""
        with self.lock:
            status, obj = self.control_locked(method, path, body)
            return status, copy.deepcopy(obj)

    def control_locked(self, method, path, body):
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return 400, {"error": "the body must be a JSON object"}
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_test/state"):
            return 200, self.state_json(self.resources.values())
        if route == ("GET", "/_test/requests"):
            return 200, self.log
        if route == ("DELETE", "/_test/requests"):
            self.log = []
            return 200, {}
        if route == ("POST", "/_test/reset"):
            self.reset()
            return 200, {}
        if route == ("POST", "/_test/settle"):
            self.step_all(force=True)
            return 200, {}
        if route == ("POST", "/_test/step"):
            count = data.get("count", 1)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                return 400, {"error": "count must be a whole number"}
            self.step_all(count)
            return 200, {}
        if route == ("POST", "/_test/transitions"):
            steps = data.get("steps")
            if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
                return 400, {"error": "steps must be a whole number (0: held until settled)"}
            self.steps = steps
            return 200, {"steps": steps}
        if route == ("POST", "/_test/seed"):
            return self.seed(data)
        if route == ("POST", "/_test/mode"):
            return self.set_mode(data)
        return 404, {"error": "no such control endpoint: %s %s" % route}

    def seed(self, data):
        made = []
        try:
            for reg in data.get("registries", []):
                project = reg.get("project", "1a5")
                fields = {k: reg[k] for k in ("serverAddress", "name", "description") if k in reg}
                registry = self.new_resource("registry", project, fields,
                                             reg.get("state", "active"))
                made.append(registry)
                for cred in reg.get("credentials", []):
                    fields = {k: cred[k] for k in ("publicValue", "secretValue", "email", "name",
                                                   "description") if k in cred}
                    fields["registryId"] = registry.id
                    made.append(self.new_resource("registryCredential", project, fields,
                                                  cred.get("state", "active")))
        except (AttributeError, TypeError) as err:
            return 400, {"error": "bad seed: %s" % err}
        return 200, self.state_json(made)

    def set_mode(self, data):
        mode = data.get("mode")
        if mode == "normal":
            self.faults = {}
            return 200, {"faults": self.faults}
        if mode not in ("status", "silence", "delay", "fail_action", "stuck_transitioning",
                        "omit_headers", "ignore_filters"):
            return 400, {"error": "unknown mode %r" % mode}
        steps = data.get("steps")
        if mode == "stuck_transitioning" and steps is not None and (
                not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
            return 400, {"error": "steps must be a whole number above 0, or absent (held)"}
        if mode == "fail_action" and not data.get("op"):
            return 400, {"error": "fail_action needs op (deactivate, delete, ...)"}
        fault = dict(data)
        del fault["mode"]
        fault.setdefault("count", None)
        self.faults[mode] = fault
        return 200, {"faults": self.faults}

    def state_json(self, resources):
        out = {"registries": [], "credentials": [], "projects": sorted(self.projects),
               "faults": self.faults}
        for res in resources:
            item = {"id": res.id, "project": res.project, "state": res.state,
                    "transitioning": "yes" if res.pending else "no",
                    "removed": iso(res.removed)}
            item.update(res.fields)
            if res.kind == "registry":
                item["credentials"] = [c.id for c in self.credentials_of(res)]
                out["registries"].append(item)
            else:
                out["credentials"].append(item)
        return out


# ----- helpers for lists and bodies -----

def check_string(body, name):
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, "InvalidFormat", field=name)


def parse_filters(query, filterable):
    """[(field, modifier, value)] for parameters naming a filterable field, optionally with a
    _modifier suffix. Anything else (serverAddress, unknown names) is silently ignored (2.3)."""
    out = []
    for name, value in query:
        field, modifier = name, "eq"
        if name not in filterable and "_" in name:
            field, modifier = name.rsplit("_", 1)
        if field in filterable and modifier in MODIFIERS:
            out.append((field, modifier, value))
    return out


def matches_filters(res, filters):
    """Conditions on different fields are ANDed; several `eq` values of one field are ORed
    (an IN list), every other condition is ANDed."""
    fields = {f for f, _, _ in filters}
    for field in fields:
        value = res.field(field)
        eqs = [v for f, m, v in filters if f == field and m == "eq"]
        if eqs and value not in eqs:
            return False
        for f, modifier, wanted in filters:
            if f == field and modifier != "eq" and not matches(value, modifier, wanted):
                return False
    return True


def matches(value, modifier, wanted):
    """One SQL-like condition; NULL matches only `null`/`notnull`."""
    if modifier == "null":
        return value is None
    if modifier == "notnull":
        return value is not None
    if value is None:
        return False
    value = str(value)
    if modifier in ("like", "notlike"):
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                          for c in wanted)
        found = re.fullmatch(pattern, value, re.S) is not None
        return found if modifier == "like" else not found
    return {"ne": value != wanted, "prefix": value.startswith(wanted),
            "lt": value < wanted, "lte": value <= wanted,
            "gt": value > wanted, "gte": value >= wanted}[modifier]


def sort_of(req, filterable):
    field = req.param("sort")
    if field not in filterable:
        return None, "asc"
    return field, "desc" if (req.param("order") or "").lower() == "desc" else "asc"


def sort_items(items, field, order):
    """Default order is by id ascending; sort= takes any filterable field (NULLs first)."""
    items = sorted(items, key=lambda r: id_number(r.id))
    if field:
        items.sort(key=lambda r: (r.field(field) is not None, str(r.field(field) or "")),
                   reverse=(order == "desc"))
    return items


def parse_limit(text, default):
    try:
        limit = int(text) if text is not None else default
    except ValueError:
        limit = default
    return MAX_LIMIT if limit <= 0 or limit > MAX_LIMIT else limit


def parse_marker(text):
    if text and re.fullmatch(r"m[0-9]+", text):
        return int(text[1:])
    return 0


def with_param(query, name, value):
    """The query string with `name` set to `value` (replaced in place, or appended)."""
    pairs = [(k, value if k == name else v) for k, v in query]
    if not any(k == name for k, _ in query):
        pairs.append((name, value))
    return urlencode(pairs)


def simple_collection(resource_type, url, data):
    return {"type": "collection", "resourceType": resource_type, "links": {"self": url},
            "createTypes": {}, "actions": {}, "data": data, "sortLinks": {},
            "pagination": {"first": None, "previous": None, "next": None, "limit": MAX_LIMIT,
                           "total": None, "partial": False},
            "sort": None, "filters": {}, "createDefaults": {}}


def fault_response(fault, schemas):
    status = int(fault.get("status", 500))
    if fault.get("html"):
        page = ("<html><head><title>%d %s</title></head><body><h1>%d %s</h1>"
                "<hr><center>nginx</center></body></html>\n"
                % (status, STATUS_CODES.get(status, "Error"), status,
                   STATUS_CODES.get(status, "Error")))
        return Response(status, None, raw=page.encode(), content_type="text/html")
    err = ApiError(status, fault.get("code"), fault.get("message"))
    resp = Response(status, err.body(), {"X-API-Schemas": schemas})
    if status == 401:
        resp.headers["WWW-Authenticate"] = REALM     # e.g. a key deactivated meanwhile
    return resp


def loggable(body):
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


# ----- HTTP plumbing -----

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle plus delayed ACK add
        # 40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return "fake-rancher"

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def dispatch(self):
        url = urlsplit(self.path)
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        fake = self.server.fake
        if url.path == "/_test" or url.path.startswith("/_test/"):
            status, obj = fake.control(self.command, url.path, body)
            self.send(Response(status, obj))
            return
        host = (self.headers.get("Host") or self.server.host_port()).lower()
        scheme = "https" if self.server.tls else "http"
        req = Request(self.command, url.path, url.query, self.headers, body,
                      scheme + "://" + host)
        resp = fake.serve(req)
        if resp is None:            # silence: drop the connection without an answer
            self.close_connection = True
            return
        self.send(resp)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass                 # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, resp):
        payload = resp.raw if resp.raw is not None else encode_json(resp.obj)
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_rancher: %s - %s\n" % (self.address_string(), fmt % args))


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer whose TLS handshake happens in the request thread, so one client
    that never handshakes cannot block the others."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, fake, tls_context, verbose):
        self.fake, self.tls, self.verbose = fake, tls_context, verbose
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def host_port(self):
        host, port = self.server_address[:2]
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)

    def finish_request(self, request, client_address):
        if self.tls is None:
            return super().finish_request(request, client_address)
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return                  # the client refused our certificate, or went away
        conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        traceback.print_exc(file=sys.stderr)


# ----- command line -----

API_KEY = re.compile(r"[^:]+:[^:]*:(environment|account|envadmin):[^:]+")
DEFAULT_KEYS = ["envkey:envsecret:environment:1a5", "adminkey:adminsecret:envadmin:1a5"]


def split_key_args(values):
    """--key is both the TLS key file (`--cert C --key K`) and, in the brief's wording, an API
    key. A value shaped ACCESS:SECRET:ROLE:PROJECT is an API key; anything else the TLS key."""
    api_keys = [v for v in values if API_KEY.fullmatch(v)]
    files = [v for v in values if not API_KEY.fullmatch(v)]
    if len(files) > 1:
        raise SystemExit("fake_rancher: more than one TLS key file given: %s" % files)
    return (files[0] if files else None), api_keys


def parse_api_key(text):
    access, secret, role, projects = text.split(":")
    return Key(access, secret, role, projects.split(","))


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Fake Rancher 1.x (Cattle) API for tests.")
    ap.add_argument("--cert", help="server certificate (PEM)")
    ap.add_argument("--key", action="append", default=[],
                    help="server private key (PEM); or an API key, as --api-key")
    ap.add_argument("--api-key", action="append", default=[],
                    metavar="ACCESS:SECRET:ROLE:PROJECT",
                    help="ROLE environment|account|envadmin; PROJECT 1a<n>, a comma list, or *")
    ap.add_argument("--project", action="append", default=[],
                    help="extra project id that exists (1a5 and 1a7 always do)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--plain", action="store_true", help="plain HTTP instead of TLS")
    ap.add_argument("--page-size", type=int, default=100, help="default collection limit")
    ap.add_argument("--transition-steps", type=int, default=1,
                    help="how many API requests registering/deactivating/removing/... last "
                         "(0: until /_test/settle)")
    ap.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = ap.parse_args(argv)
    args.tls_key, from_key = split_key_args(args.key)
    args.api_key = args.api_key + from_key or DEFAULT_KEYS
    for text in args.api_key:
        if not API_KEY.fullmatch(text):
            ap.error("bad --api-key %r: want ACCESS:SECRET:ROLE:PROJECT" % text)
    if not args.plain and not (args.cert and args.tls_key):
        ap.error("--cert and --key are required unless --plain")
    if args.transition_steps < 0:
        ap.error("--transition-steps must be 0 or more")
    for pid in args.project:
        if not PROJECT_ID.fullmatch(pid):
            ap.error("bad --project %r: want 1a<n>" % pid)
    return args


def main(argv):
    args = parse_args(argv)
    keys = [parse_api_key(text) for text in args.api_key]
    fake = FakeRancher(keys, ["1a5", "1a7"] + args.project, args.page_size,
                       args.transition_steps)
    tls = None
    if not args.plain:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.tls_key)
    server = Server((args.bind, args.port), fake, tls, args.verbose)
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
