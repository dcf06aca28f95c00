#!/usr/bin/env python3
"""Self-test of fake_rancher.py: checks that the fake Rancher 1.x API keeps the documented
contract (/work/shared/docs/apis-detail.md 2.x, A.2, addendum R1-R4) before the helper's tests
rely on it. Standard library only; runs over TLS with certificates from tests/lib/mkca.sh (or a
throwaway openssl CA when that script is missing).

    python3 tests/fakes/test_fake_rancher.py
"""

import base64
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_rancher.py")
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")

ENV = ("envkey", "envsecret")          # environment key of 1a5
ADMIN = ("adminkey", "adminsecret")    # environmentAdmin key of 1a5: reads secretValue
ACCOUNT = ("acctkey", "acctsecret")    # account key, member of 1a7 only


def make_certs(directory):
    """ca.pem, server.pem, server.key in `directory`: mkca.sh if present, else plain openssl."""
    if os.path.exists(MKCA):
        subprocess.run(["sh", MKCA, directory], check=True)
        return

    def ossl(*args):
        subprocess.run(("openssl",) + args, check=True, cwd=directory,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=fake rancher test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(directory, "ext"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "ext")


class Reply:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        self.json = json.loads(raw) if raw else None


class FakeRancherTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fake-rancher-test.")
        make_certs(cls.tmp)
        cls.proc = subprocess.Popen(
            [sys.executable, FAKE, "--cert", os.path.join(cls.tmp, "server.pem"),
             "--key", os.path.join(cls.tmp, "server.key"), "--port", "0",
             "--page-size", "2", "--transition-steps", "1",
             # --key with ACCESS:SECRET:ROLE:PROJECT is the alias of --api-key.
             "--key", "envkey:envsecret:environment:1a5",
             "--api-key", "adminkey:adminsecret:envadmin:1a5",
             "--api-key", "acctkey:acctsecret:account:1a7"],
            stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            cls.proc.kill()
            raise RuntimeError("fake_rancher did not start: %r" % line)
        cls.port = int(line[1])
        cls.tls = ssl.create_default_context(cafile=os.path.join(cls.tmp, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(5)
        cls.proc.stdout.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.control("POST", "/_test/reset")

    # ----- helpers -----

    def call(self, method, path, body=None, key=ENV, headers=None, timeout=5):
        """One HTTPS request; `path` may be an absolute URL from a link."""
        if path.startswith("https://"):
            url = urlsplit(path)
            path = url.path + ("?" + url.query if url.query else "")
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.tls,
                                           timeout=timeout)
        hdrs = dict(headers or {})
        if key is not None:
            token = base64.b64encode(("%s:%s" % key).encode()).decode()
            hdrs["Authorization"] = "Basic " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def control(self, method, path, body=None):
        reply = self.call(method, path, body, key=None)
        self.assertEqual(reply.status, 200, reply.raw)
        return reply.json

    def create_registry(self, address, ver="v2-beta", key=ENV):
        reply = self.call("POST", "/%s/projects/1a5/registries" % ver,
                          {"serverAddress": address}, key=key)
        self.assertEqual(reply.status, 201, reply.raw)
        return reply.json

    def create_credential(self, registry_id, user="alice", secret="s3cret", ver="v2-beta",
                          extra=None):
        body = {"registryId": registry_id, "publicValue": user, "secretValue": secret}
        body.update(extra or {})
        return self.call("POST", "/%s/projects/1a5/registrycredentials" % ver, body)

    def get_state(self, link, state, key=ENV):
        """One GET of link: its resource must be in state (transitions follow requests, so
        which request sees which state is fixed)."""
        reply = self.call("GET", link, key=key)
        self.assertEqual(reply.status, 200, reply.raw)
        self.assertEqual(reply.json["state"], state, reply.json)
        return reply.json

    def transitions(self, steps):
        self.control("POST", "/_test/transitions", {"steps": steps})

    def assertError(self, reply, status, code, field=None):
        self.assertEqual(reply.status, status, reply.raw)
        body = reply.json
        self.assertEqual((body["type"], body["baseType"], body["status"], body["code"]),
                         ("error", "error", status, code))
        for name in ("id", "message", "detail", "links", "actions"):
            self.assertIn(name, body)
        if field is not None:
            self.assertEqual(body["fieldName"], field)

    # ----- the behaviours the helper depends on -----

    def test_create_registry_and_credential_secret_write_only(self):
        reg = self.create_registry("registry.example.com:5000")
        self.assertTrue(reg["id"].startswith("1sp"))
        self.assertEqual((reg["state"], reg["transitioning"]), ("registering", "yes"))
        self.assertEqual((reg["baseType"], reg["kind"]), ("storagePool", "registry"))

        reply = self.create_credential(reg["id"])
        self.assertEqual(reply.status, 201, reply.raw)
        cred = reply.json
        self.assertTrue(cred["id"].startswith("1c"))
        self.assertEqual(cred["secretValue"], "s3cret")       # only in the create response
        self.assertEqual(cred["baseType"], "credential")
        self.assertNotIn("email", cred)                        # v2-beta has no email
        self.assertEqual(cred["state"], "registering")

        self_link = cred["links"]["self"]
        self.assertIn("/v2-beta/projects/1a5/registrycredentials/", self_link)
        got = self.get_state(self_link, "active")
        self.assertIsNone(got["secretValue"])
        self.assertEqual(got["transitioning"], "no")
        listed = self.call("GET", "/v2-beta/registrycredentials").json["data"]
        self.assertEqual([c["secretValue"] for c in listed], [None])

        admin = self.call("GET", self_link, key=ADMIN).json
        self.assertEqual(admin["secretValue"], "s3cret")
        admin_list = self.call("GET", "/v2-beta/registrycredentials", key=ADMIN).json["data"]
        self.assertEqual(admin_list[0]["secretValue"], "s3cret")
        self.assertEqual(self.call("GET", got["links"]["registry"]).json["id"], reg["id"])

    def test_duplicate_server_address(self):
        self.create_registry("quay.io")
        reply = self.call("POST", "/v2-beta/registries", {"serverAddress": "QUAY.io"})
        self.assertError(reply, 400, "ServerAddressUsed")
        # Another project may use the same address.
        reply = self.call("POST", "/v2-beta/projects/1a7/registries",
                          {"serverAddress": "quay.io"}, key=ACCOUNT)
        self.assertEqual(reply.status, 201, reply.raw)

    def test_server_address_filter_is_ignored_real_filters_work(self):
        a = self.create_registry("a.example")
        b = self.create_registry("b.example")
        reply = self.call("GET", "/v2-beta/projects/1a5/registries?serverAddress=b.example")
        self.assertEqual([r["id"] for r in reply.json["data"]], [a["id"], b["id"]])

        self.create_credential(a["id"], user="u1")
        self.create_credential(b["id"], user="u2")
        self.create_credential(b["id"], user="u2")       # duplicate publicValue is allowed (R3)
        data = self.call("GET", "/v2-beta/registrycredentials?registryId=" + b["id"]).json
        self.assertEqual(len(data["data"]), 2)
        self.assertEqual(data["filters"]["registryId"],
                         [{"modifier": "eq", "value": b["id"]}])
        self.assertIsNone(data["filters"]["state"])
        data = self.call("GET", "/v2-beta/registrycredentials?publicValue_ne=u2").json
        self.assertEqual([c["publicValue"] for c in data["data"]], ["u1"])
        query = "name_null=&publicValue_prefix=u&limit=9"
        data = self.call("GET", "/v2-beta/registrycredentials?" + query).json
        self.assertEqual(len(data["data"]), 3)

    def test_ignore_filters_mode(self):
        a = self.create_registry("a.example")
        b = self.create_registry("b.example")
        self.create_credential(a["id"], user="u1")
        self.create_credential(b["id"], user="u2")
        query = "/v2-beta/registrycredentials?state=active&registryId=" + b["id"]
        self.control("POST", "/_test/mode", {"mode": "ignore_filters", "count": 1})
        data = self.call("GET", query).json
        self.assertEqual([c["publicValue"] for c in data["data"]], ["u1", "u2"])
        data = self.call("GET", query).json  # the count is used up: filtered again
        self.assertEqual([c["publicValue"] for c in data["data"]], ["u2"])

    def test_pagination_page_size_two_over_five(self):
        seeded = self.control("POST", "/_test/seed", {"registries": [
            {"project": "1a5", "serverAddress": "r%d.example" % i} for i in range(5)]})
        ids = [r["id"] for r in seeded["registries"]]
        seen, pages = [], 0
        link = "/v2-beta/registries"
        while link:
            body = self.call("GET", link).json
            pages += 1
            self.assertEqual(body["type"], "collection")
            self.assertEqual(body["resourceType"], "registry")
            for name in ("links", "createTypes", "actions", "sortLinks", "sort", "filters",
                         "createDefaults"):
                self.assertIn(name, body)
            page = body["pagination"]
            self.assertEqual(page["limit"], 2)
            self.assertEqual(page["partial"], page["next"] is not None)
            seen += [r["id"] for r in body["data"]]
            link = page["next"]
            if link:
                self.assertTrue(link.startswith("https://localhost:%d/" % self.port), link)
                self.assertIn("marker=m", link)
        self.assertEqual((pages, seen), (3, ids))
        everything = self.call("GET", "/v2-beta/registries?limit=10").json
        self.assertEqual(len(everything["data"]), 5)
        self.assertIsNone(everything["pagination"]["next"])

    def test_delete_active_is_405(self):
        reg = self.create_registry("quay.io")
        cred = self.create_credential(reg["id"]).json
        self.get_state(cred["links"]["self"], "active")
        self.assertError(self.call("DELETE", cred["links"]["self"]), 405, "Method not allowed")
        self.get_state(reg["links"]["self"], "active")
        self.assertError(self.call("DELETE", reg["links"]["self"]), 405, "Method not allowed")

    def test_deactivate_then_delete_removes_from_list(self):
        self.transitions(0)             # every transition held until the test settles it
        reg = self.create_registry("quay.io")
        cred = self.create_credential(reg["id"]).json
        self.control("POST", "/_test/settle")
        active = self.get_state(cred["links"]["self"], "active")
        self.assertEqual(sorted(active["actions"]), ["deactivate", "update"])

        reply = self.call("POST", active["actions"]["deactivate"])
        self.assertEqual(reply.status, 200, reply.raw)
        self.assertEqual(reply.json["state"], "deactivating")
        # Not yet inactive: DELETE is still refused.
        self.assertEqual(self.call("DELETE", cred["links"]["self"]).status, 405)
        self.get_state(cred["links"]["self"], "deactivating")
        self.control("POST", "/_test/settle")
        inactive = self.get_state(cred["links"]["self"], "inactive")
        self.assertEqual(sorted(inactive["actions"]), ["activate", "remove", "update"])

        reply = self.call("DELETE", cred["links"]["self"])
        self.assertEqual(reply.status, 200, reply.raw)
        self.assertEqual(reply.json["state"], "removing")
        self.control("POST", "/_test/settle")
        removed = self.get_state(cred["links"]["self"], "removed")     # by id: still there
        self.assertIsNotNone(removed["removed"])
        self.assertEqual(self.call("GET", "/v2-beta/registrycredentials").json["data"], [])
        with_removed = self.call("GET", "/v2-beta/registrycredentials?_removed=true").json
        self.assertEqual(len(with_removed["data"]), 1)
        state = self.control("GET", "/_test/state")
        self.assertEqual(state["credentials"][0]["state"], "removed")
        self.assertEqual(state["credentials"][0]["secretValue"], "s3cret")

        # purge is the only action left
        self.assertEqual(list(removed["actions"]), ["purge"])
        self.assertEqual(self.call("POST", removed["actions"]["purge"]).status, 200)
        self.get_state(cred["links"]["self"], "purging")
        self.control("POST", "/_test/settle")
        self.get_state(cred["links"]["self"], "purged")

    def test_unauthorized(self):
        for key in (None, ("envkey", "wrong"), ("nobody", "envsecret")):
            reply = self.call("GET", "/v2-beta/registries", key=key)
            self.assertError(reply, 401, "Unauthorized")
            self.assertEqual(reply.headers["WWW-Authenticate"],
                             'Basic realm="Enter API access key and secret key as username '
                             'and password"')
            self.assertIn("X-API-Schemas", reply.headers)
            self.assertNotIn("X-Api-Account-Id", reply.headers)
        reply = self.call("GET", "/v2-beta/registries", key=None,
                          headers={"X-API-No-Challenge": "true"})
        self.assertEqual(reply.status, 401)
        self.assertNotIn("WWW-Authenticate", reply.headers)

    def test_v1_requires_email(self):
        reg = self.create_registry("quay.io", ver="v1")
        reply = self.create_credential(reg["id"], ver="v1")
        self.assertError(reply, 422, "MissingRequired", field="email")
        reply = self.create_credential(reg["id"], ver="v1", extra={"email": "a@example.com"})
        self.assertEqual(reply.status, 201, reply.raw)
        self.assertEqual(reply.json["email"], "a@example.com")
        self.assertIn("/v1/projects/1a5/", reply.json["links"]["self"])
        self.assertEqual(self.create_credential(reg["id"]).status, 201)   # v2-beta: no email

    # ----- the rest of the contract -----

    def test_validation_errors(self):
        self.assertError(self.call("POST", "/v2-beta/registries", {}), 422, "MissingRequired",
                         field="serverAddress")
        self.assertError(self.create_credential(None), 422, "MissingRequired",
                         field="registryId")
        self.assertError(self.create_credential("1sp999"), 422, "InvalidReference",
                         field="registryId")
        other = self.call("POST", "/v2-beta/projects/1a7/registries",
                          {"serverAddress": "quay.io"}, key=ACCOUNT).json
        self.assertError(self.create_credential(other["id"]), 422, "InvalidReference",
                         field="registryId")
        reg = self.create_registry("quay.io")
        self.get_state(reg["links"]["self"], "active")
        self.assertError(self.call("POST", reg["links"]["self"] + "?action=activate"), 422,
                         "ActionNotAvailable", field="action")
        self.assertError(self.call("POST", reg["links"]["self"] + "/?action=explode"), 422,
                         "InvalidAction", field="action")
        self.assertError(self.call("GET", "/v2-beta/registries/1sp999"), 404, "Not Found")

    def test_project_scoping(self):
        reply = self.call("GET", "/v2-beta/registries")
        self.assertEqual(reply.headers["X-Api-Account-Id"], "1a5")
        self.assertTrue(reply.headers["X-API-Schemas"].endswith("/v2-beta/projects/1a5/schemas"))
        self.assertError(self.call("GET", "/v2-beta/projects/1a7/registries"), 403, "Forbidden")
        self.assertError(self.call("GET", "/v2-beta/registries",
                                   headers={"X-API-Project-Id": "1a7"}), 403, "Forbidden")
        self.assertError(self.call("GET", "/v2-beta/projects/1a5x/registries"), 400,
                         "InvalidFormat")
        # An account key needs the project: without it, its own user account (no registries).
        reply = self.call("GET", "/v2-beta/registries", key=ACCOUNT)
        self.assertEqual((reply.status, reply.json["data"]), (200, []))
        self.assertEqual(reply.headers["X-Api-Account-Id"], "1a1")
        self.assertEqual(self.call("POST", "/v2-beta/registries", {"serverAddress": "x"},
                                   key=ACCOUNT).status, 405)
        reply = self.call("POST", "/v2-beta/projects/1a7/REGISTRY", {"serverAddress": "x"},
                          key=ACCOUNT)
        self.assertEqual(reply.status, 201, reply.raw)
        self.assertEqual(reply.headers["X-Api-Account-Id"], "1a7")
        self.assertEqual(reply.json["links"]["self"].split("/v2-beta/")[1],
                         "projects/1a7/registries/" + reply.json["id"])
        self.assertError(self.call("GET", "/v2-beta/projects/1a5/registries", key=ACCOUNT),
                         403, "Forbidden")

    def test_what_rancher_says_about_the_key(self):
        # R4: X-Api-Account-Kind is the authenticated account's kind, X-Api-Account-Id the
        # resolved project (the user's own account for an account key without one); both only
        # after authentication and scoping succeed.
        kinds = {}
        for name, key in (("env", ENV), ("admin", ADMIN), ("account", ACCOUNT)):
            reply = self.call("GET", "/v2-beta/registries", key=key)
            kinds[name] = (reply.headers["X-Api-Account-Kind"], reply.headers["X-Api-Account-Id"])
        self.assertEqual(kinds, {"env": ("project", "1a5"), "admin": ("projectadmin", "1a5"),
                                 "account": ("user", "1a1")})
        scoped = self.call("GET", "/v2-beta/projects/1a7/registries", key=ACCOUNT)
        self.assertEqual((scoped.headers["X-Api-Account-Kind"], scoped.headers["X-Api-Account-Id"]),
                         ("user", "1a7"))
        for reply in (self.call("GET", "/v2-beta/registries", key=("envkey", "nope")),
                      self.call("GET", "/v2-beta/projects/1a5/registries", key=ACCOUNT)):
            self.assertIn(reply.status, (401, 403))
            self.assertNotIn("X-Api-Account-Kind", reply.headers)
            self.assertNotIn("X-Api-Account-Id", reply.headers)
        # The projects collection lists the environments the key may use.
        listed = {}
        for name, key in (("env", ENV), ("account", ACCOUNT)):
            body = self.call("GET", "/v2-beta/projects", key=key).json
            self.assertEqual((body["type"], body["resourceType"]), ("collection", "project"))
            listed[name] = [(p["id"], p["state"], p["type"]) for p in body["data"]]
        self.assertEqual(listed, {"env": [("1a5", "active", "project")],
                                  "account": [("1a7", "active", "project")]})
        # An older Rancher may leave the kind out: the fault removes it for one answer.
        self.control("POST", "/_test/mode", {"mode": "omit_headers", "count": 1,
                                             "headers": ["X-Api-Account-Kind"]})
        reply = self.call("GET", "/v2-beta/registries")
        self.assertNotIn("X-Api-Account-Kind", reply.headers)
        self.assertEqual(reply.headers["X-Api-Account-Id"], "1a5")
        self.assertIn("X-Api-Account-Kind", self.call("GET", "/v2-beta/registries").headers)

    def test_json_escapes_slashes_and_headers(self):
        reply = self.call("GET", "/v2-beta/registries")
        self.assertIn(b"https:\\/\\/localhost", reply.raw)
        self.assertNotIn(b"https://", reply.raw)
        self.assertTrue(reply.headers["Content-Type"].startswith("application/json"))
        root = self.call("GET", "/v2-beta")
        self.assertEqual(root.json["type"], "apiVersion")
        self.assertIn("X-API-Schemas", root.headers)
        schemas = self.call("GET", root.headers["X-API-Schemas"]).json
        cred = [s for s in schemas["data"] if s["id"] == "registryCredential"][0]
        self.assertEqual(cred["resourceFields"]["secretValue"]["type"], "password")

    def test_registry_removal_cascades_to_credentials(self):
        reg = self.create_registry("quay.io")
        cred = self.create_credential(reg["id"]).json
        self.control("POST", "/_test/settle")
        self.assertEqual(self.call("POST", reg["links"]["self"] + "?action=deactivate").status,
                         200)
        self.get_state(reg["links"]["self"], "inactive")
        self.assertEqual(self.call("DELETE", reg["links"]["self"]).status, 200)
        self.control("POST", "/_test/settle")
        self.assertEqual(self.call("GET", cred["links"]["self"]).json["state"], "removed")
        self.assertEqual(self.call("GET", "/v2-beta/registries").json["data"], [])
        # The address is free again once the old registry is removed.
        self.create_registry("quay.io")

    def test_put_partial_update(self):
        reg = self.create_registry("quay.io")
        cred = self.create_credential(reg["id"]).json
        self.control("POST", "/_test/settle")
        reply = self.call("PUT", cred["links"]["self"],
                          {"secretValue": "new", "registryId": "1sp999", "bogus": 1})
        self.assertEqual(reply.status, 200, reply.raw)
        self.assertIsNone(reply.json["secretValue"])
        self.assertEqual(reply.json["publicValue"], "alice")
        self.assertEqual(reply.json["registryId"], reg["id"])     # create-only: ignored
        got = self.get_state(cred["links"]["self"], "active", key=ADMIN)
        self.assertEqual(got["secretValue"], "new")

    def test_faults(self):
        self.control("POST", "/_test/mode", {"mode": "status", "status": 503, "count": 1})
        self.assertError(self.call("GET", "/v2-beta/registries"), 503, "Service Unavailable")
        self.assertEqual(self.call("GET", "/v2-beta/registries").status, 200)

        reg = self.create_registry("quay.io")
        self.control("POST", "/_test/settle")
        self.control("POST", "/_test/mode", {"mode": "fail_action", "op": "deactivate",
                                             "count": 1})
        action = reg["links"]["self"] + "/?action=deactivate"
        self.assertError(self.call("POST", action), 500, "Internal Server Error")
        self.assertEqual(self.call("POST", action).status, 200)

        self.control("POST", "/_test/mode", {"mode": "stuck_transitioning"})
        cred = self.create_credential(reg["id"]).json
        for _ in range(3):
            self.get_state(cred["links"]["self"], "registering")
        self.control("POST", "/_test/settle")
        self.get_state(cred["links"]["self"], "active")
        self.control("POST", "/_test/mode", {"mode": "stuck_transitioning", "steps": 3})
        cred = self.create_credential(reg["id"]).json
        self.get_state(cred["links"]["self"], "registering")
        self.get_state(cred["links"]["self"], "registering")
        self.get_state(cred["links"]["self"], "active")
        reply = self.call("POST", "/_test/mode", {"mode": "stuck_transitioning", "steps": 0},
                          key=None)
        self.assertEqual(reply.status, 400, reply.raw)

        self.control("POST", "/_test/mode", {"mode": "silence", "seconds": 1, "count": 1})
        with self.assertRaises((TimeoutError, OSError)):
            self.call("GET", "/v2-beta/registries", timeout=0.3)
        self.assertEqual(self.call("GET", "/v2-beta/registries").status, 200)

    def test_transitions_follow_requests_not_the_clock(self):
        # Default (--transition-steps 1): the request after the one that began a transition
        # sees its end, however long the client waited or did not.
        reg = self.create_registry("quay.io")
        self.assertEqual(reg["state"], "registering")
        self.get_state(reg["links"]["self"], "active")
        # Two steps: one request still sees the transition, the second its end.
        self.transitions(2)
        cred = self.create_credential(reg["id"]).json
        self.assertEqual((cred["state"], cred["transitioning"]), ("registering", "yes"))
        got = self.get_state(cred["links"]["self"], "registering")
        self.assertEqual(got["transitioningMessage"], "In Progress")
        got = self.get_state(cred["links"]["self"], "active")
        self.assertEqual((got["transitioning"], got["transitioningMessage"]), ("no", None))
        # The test may take the steps itself, without requests; the control API is no step.
        self.transitions(3)
        deact = self.call("POST", cred["links"]["self"] + "/?action=deactivate").json
        self.assertEqual(deact["state"], "deactivating")
        self.control("POST", "/_test/step", {"count": 2})
        for _ in range(3):
            self.control("GET", "/_test/state")
        self.assertEqual(self.control("GET", "/_test/state")["credentials"][0]["state"],
                         "deactivating")
        self.get_state(cred["links"]["self"], "inactive")
        # Held (0): only settle ends it; step leaves it.
        self.transitions(0)
        self.call("POST", cred["links"]["self"] + "/?action=activate")
        self.control("POST", "/_test/step", {"count": 50})
        self.get_state(cred["links"]["self"], "activating")
        self.control("POST", "/_test/settle")
        self.get_state(cred["links"]["self"], "active")
        # reset brings back the command line's steps.
        self.control("POST", "/_test/reset")
        reg = self.create_registry("quay.io")
        self.get_state(reg["links"]["self"], "active")
        for bad in ({"steps": -1}, {"steps": "2"}, {}):
            reply = self.call("POST", "/_test/transitions", bad, key=None)
            self.assertEqual(reply.status, 400, reply.raw)

    def test_request_log(self):
        self.call("POST", "/v2-beta/registries?x=1", {"serverAddress": "quay.io"})
        log = self.control("GET", "/_test/requests")
        self.assertEqual(log, [{"method": "POST", "path": "/v2-beta/registries", "query": "x=1",
                                "access_key": "envkey", "body": {"serverAddress": "quay.io"},
                                "status": 201}])
        self.call("DELETE", "/_test/requests", key=None)
        self.assertEqual(self.control("GET", "/_test/requests"), [])


if __name__ == "__main__":
    unittest.main()
