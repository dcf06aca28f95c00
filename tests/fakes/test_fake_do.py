#!/usr/bin/env python3
"""Self-test of fake_do.py, so that helper tests can trust the fake they run against.

Makes a throwaway CA with tests/lib/mkca.sh, starts the fake over TLS and checks the contract
from shared/docs/apis-detail.md ("A.1 Fake DigitalOcean API") plus the /_test/ control API.
Standard library only:  python3 tests/fakes/test_fake_do.py
"""
import base64
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_do.py")
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
TOKEN = "dop_v1_testtoken"
AUTH = {"Authorization": "Bearer " + TOKEN}
CREDS = "/v2/registry/docker-credentials"


class Fake:
    """One fake_do.py process over TLS, with small request helpers."""

    def __init__(self, certdir, *args, cert="server"):
        self.certdir = certdir
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--quiet",
             "--cert", os.path.join(certdir, cert + ".pem"),
             "--key", os.path.join(certdir, cert + ".key")] + list(args),
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.fullmatch(r"READY (\d+)\n", line)
        if not match:
            self.stop()
            raise RuntimeError("fake_do did not start: %r" % line)
        self.port = int(match.group(1))
        self.context = ssl.create_default_context(cafile=os.path.join(certdir, "ca.pem"))

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def request(self, method, path, headers=None, body=None, timeout=5):
        """(status, headers with lower-case names, body bytes)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                           timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def get(self, path, headers=AUTH):
        return self.request("GET", path, headers)

    def control(self, method, path, value=None):
        body = json.dumps(value).encode() if value is not None else None
        status, _, data = self.request(method, "/_test/" + path, body=body)
        assert status == 200, (status, data)
        return json.loads(data)


def decode_auth(body):
    """The username, password of a docker-credentials body, checking its exact shape."""
    config = json.loads(body)
    assert list(config) == ["auths"], config
    assert list(config["auths"]) == ["registry.digitalocean.com"], config
    entry = config["auths"]["registry.digitalocean.com"]
    assert list(entry) == ["auth"], entry
    username, _, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
    return username, password


class FakeDoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fake-do-test-")
        subprocess.run(["sh", MKCA, cls.tmp], check=True)
        cls.fake = Fake(cls.tmp, "--token-scopes", "readonly=registry:read")

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.fake.control("POST", "reset")

    def assertError(self, response, status, err_id):
        got_status, headers, body = response
        self.assertEqual(got_status, status, body)
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        error = json.loads(body)
        self.assertEqual(error["id"], err_id)
        self.assertIn("message", error)
        return error

    # --- authentication ------------------------------------------------------------------
    def test_missing_token_is_401_with_documented_body(self):
        error = self.assertError(self.fake.get(CREDS, headers={}), 401, "unauthorized")
        self.assertEqual(error["message"], "Unable to authenticate you.")
        self.assertEqual(self.fake.control("GET", "minted"), [])

    def test_wrong_token_is_401(self):
        self.assertError(self.fake.get(CREDS, {"Authorization": "Bearer nope"}), 401,
                         "unauthorized")
        self.assertError(self.fake.get(CREDS, {"Authorization": TOKEN}), 401, "unauthorized")

    def test_token_without_update_scope_is_403(self):
        readonly = {"Authorization": "Bearer readonly"}
        self.assertError(self.fake.get(CREDS, readonly), 403, "forbidden")
        self.assertEqual(self.fake.get("/v2/registries", readonly)[0], 200)

    # --- the account ------------------------------------------------------------------------
    def test_account_answers_the_email_and_team(self):
        status, headers, body = self.fake.get("/v2/account")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        account = json.loads(body)["account"]
        self.assertEqual((account["email"], account["team"]["name"], account["status"]),
                         ("test@example.com", "My Team", "active"))
        self.fake.control("POST", "config", {"email": "ops@example.org", "team": "Ops"})
        account = json.loads(self.fake.get("/v2/account")[2])["account"]
        self.assertEqual((account["email"], account["team"]["name"]), ("ops@example.org", "Ops"))
        self.assertEqual(self.fake.control("GET", "minted"), [])

    def test_account_needs_account_read(self):
        # A registry-only token authenticates (403, not 401) but may not read the account.
        self.assertError(self.fake.get("/v2/account", {"Authorization": "Bearer readonly"}),
                         403, "forbidden")
        self.assertError(self.fake.get("/v2/account", headers={}), 401, "unauthorized")
        self.assertError(self.fake.request("POST", "/v2/account", AUTH), 405,
                         "method_not_allowed")

    # --- minting -------------------------------------------------------------------------
    def test_every_call_mints_a_new_credential(self):
        first = self.fake.get(CREDS + "?expiry_seconds=3600&read_write=true")
        second = self.fake.get(CREDS + "?read_write=false")
        for status, headers, _ in (first, second):
            self.assertEqual(status, 200)
            self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
            for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
                self.assertRegex(headers[name], r"^\d+$")
        user1, pass1 = decode_auth(first[2])
        user2, pass2 = decode_auth(second[2])
        self.assertEqual((user1, user2), ("test@example.com", "test@example.com"))
        self.assertRegex(pass1, r"^dop_v1_[0-9a-f]{64}$")
        self.assertNotEqual(pass1, pass2)
        minted = self.fake.control("GET", "minted")
        self.assertEqual([(m["password"], m["read_write"], m["expiry_seconds"], m["revoked"])
                          for m in minted],
                         [(pass1, True, 3600, False), (pass2, False, 0, False)])

    def test_named_registry_and_unknown_name(self):
        status, _, body = self.fake.get("/v2/registries/test-registry/docker-credentials")
        self.assertEqual(status, 200)
        decode_auth(body)
        self.assertError(self.fake.get("/v2/registries/other/docker-credentials"), 404,
                         "not_found")

    def test_bad_query_values_are_refused(self):
        for query in ("read_write=1", "read_write=True", "expiry_seconds=-1",
                      "expiry_seconds=1576800001", "expiry_seconds=1.5", "expiry_seconds="):
            with self.subTest(query=query):
                self.assertError(self.fake.get(CREDS + "?" + query), 422,
                                 "unprocessable_entity")
        self.assertEqual(self.fake.get(CREDS + "?expiry_seconds=1576800000")[0], 200)
        self.assertEqual(len(self.fake.control("GET", "minted")), 1)

    def test_no_registry_is_404(self):
        self.fake.control("POST", "config", {"registries": []})
        self.assertError(self.fake.get(CREDS), 404, "not_found")
        self.assertError(self.fake.get("/v2/registry"), 404, "not_found")

    def test_two_registries_legacy_path_is_412(self):
        fake = Fake(self.tmp, "--registries", "one,two:nyc3")
        try:
            error = self.assertError(fake.get(CREDS), 412, "precondition_failed")
            self.assertIn("multiple registries", error["message"])
            self.assertError(fake.get("/v2/registry"), 412, "precondition_failed")
            status, _, body = fake.get("/v2/registries")
            self.assertEqual([r["name"] for r in json.loads(body)["registries"]], ["one", "two"])
            status, _, body = fake.get("/v2/registries/two/docker-credentials")
            self.assertEqual(status, 200)
            self.assertEqual(fake.control("GET", "minted")[0]["registry"], "two")
        finally:
            fake.stop()

    def test_wrong_method_is_405(self):
        status, headers, _ = self.fake.request("POST", CREDS, AUTH)
        self.assertEqual((status, headers["allow"]), (405, "GET"))

    # --- revocation ----------------------------------------------------------------------
    def test_revoke_with_the_same_token(self):
        _, password = decode_auth(self.fake.get(CREDS)[2])
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        wrong = dict(form, Authorization="Bearer " + TOKEN)
        self.assertEqual(self.fake.request("POST", "/v1/oauth/revoke", wrong,
                                           "token=" + password)[0], 401)
        right = dict(form, Authorization="Bearer " + password)
        status, _, body = self.fake.request("POST", "/v1/oauth/revoke", right,
                                            "token=" + password)
        self.assertEqual((status, body), (200, b""))
        self.assertTrue(self.fake.control("GET", "minted")[0]["revoked"])
        self.assertEqual(self.fake.request("POST", "/v1/oauth/revoke", right,
                                           "token=" + password)[0], 401)

    # --- control API and fault modes -----------------------------------------------------
    def test_request_log(self):
        self.fake.get(CREDS + "?read_write=true&expiry_seconds=60")
        self.fake.get("/v2/registries", headers={})
        log = self.fake.control("GET", "requests")
        self.assertEqual([(r["method"], r["path"], r["status"]) for r in log],
                         [("GET", CREDS, 200), ("GET", "/v2/registries", 401)])
        self.assertEqual(log[0]["query"], {"read_write": "true", "expiry_seconds": "60"})
        self.assertEqual(log[0]["authorization"], "Bearer " + TOKEN)
        self.assertIsNone(log[1]["authorization"])
        self.fake.control("POST", "reset")
        self.assertEqual(self.fake.control("GET", "requests"), [])

    def test_counts_per_method_and_path(self):
        self.fake.get(CREDS + "?read_write=true")
        self.fake.get("/v2/registries")
        self.fake.get("/v2/registries")
        self.fake.request("POST", "/v2/registries", AUTH)
        self.assertEqual(self.fake.control("GET", "counts"),
                         {"GET " + CREDS: 1, "GET /v2/registries": 2, "POST /v2/registries": 1})

    def test_a_mode_with_a_path_skips_other_requests(self):
        self.fake.control("POST", "mode", {"mode": "status", "status": 500, "count": 1,
                                           "path": r"/v2/registries/[^/]+/docker-credentials"})
        self.assertEqual(self.fake.get("/v2/registries")[0], 200)
        self.assertEqual(self.fake.get(CREDS)[0], 200)
        self.assertError(self.fake.get("/v2/registries/test-registry/docker-credentials"), 500,
                         "server_error")
        self.assertEqual(self.fake.get("/v2/registries/test-registry/docker-credentials")[0], 200)
        status, _, body = self.fake.request("POST", "/_test/mode",
                                            body=json.dumps({"mode": "ok", "path": "("}).encode())
        self.assertEqual(status, 400, body)

    def test_rate_limited_mode_then_normal_service(self):
        self.fake.control("POST", "mode", {"mode": "rate_limited", "count": 2,
                                           "retry_after": 7, "reset_in": 30})
        for _ in range(2):
            status, headers, body = self.fake.get(CREDS)
            self.assertError((status, headers, body), 429, "too_many_requests")
            self.assertEqual(headers["retry-after"], "7")
            self.assertEqual(headers["ratelimit-remaining"], "0")
            self.assertAlmostEqual(int(headers["ratelimit-reset"]), time.time() + 30, delta=3)
        self.assertEqual(self.fake.get(CREDS)[0], 200)
        self.fake.control("POST", "mode", {"mode": "rate_limited", "count": 1})
        self.assertNotIn("retry-after", self.fake.get(CREDS)[1])

    def test_status_mode_with_html_body(self):
        self.fake.control("POST", "mode", {"mode": "status", "status": 502, "count": 1,
                                           "body": "<html>Bad Gateway</html>"})
        status, headers, body = self.fake.get(CREDS)
        self.assertEqual((status, body), (502, b"<html>Bad Gateway</html>"))
        self.assertIn("ratelimit-reset", headers)
        self.assertEqual(self.fake.get(CREDS)[0], 200)

    def test_queued_modes(self):
        self.fake.control("POST", "mode", {"mode": "status", "status": 503, "count": 1})
        self.fake.control("POST", "mode", {"mode": "malformed", "count": 1, "append": True})
        self.assertError(self.fake.get(CREDS), 503, "server_error")
        status, _, body = self.fake.get(CREDS)
        self.assertEqual(status, 200)
        self.assertRaises(ValueError, json.loads, body)
        self.assertEqual(self.fake.get(CREDS)[0], 200)

    def test_reset_and_silence_modes(self):
        self.fake.control("POST", "mode", {"mode": "reset", "count": 1})
        with self.assertRaises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
            self.fake.get(CREDS)
        self.fake.control("POST", "mode", {"mode": "silence", "seconds": 5, "count": 1})
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.fake.request("GET", CREDS, AUTH, timeout=0.5)
        self.assertEqual(self.fake.get(CREDS)[0], 200)

    def test_huge_mode_streams_the_size_asked(self):
        self.fake.control("POST", "mode", {"mode": "huge", "size": 3 << 20, "count": 1})
        status, headers, body = self.fake.get(CREDS)
        self.assertEqual((status, int(headers["content-length"]), len(body)),
                         (200, 3 << 20, 3 << 20))

    # --- TLS -------------------------------------------------------------------------------
    def test_wrong_host_and_expired_certificates_are_refused(self):
        for cert, reason in (("wronghost", "match"), ("expired", "expired")):
            fake = Fake(self.tmp, cert=cert)
            try:
                with self.assertRaises(ssl.SSLCertVerificationError) as caught:
                    fake.get("/v2/registries")
                self.assertIn(reason, str(caught.exception))
            finally:
                fake.stop()

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_with_the_test_ca(self):
        out = subprocess.run(
            ["curl", "-sS", "--cacert", os.path.join(self.tmp, "ca.pem"),
             "-H", "Authorization: Bearer " + TOKEN,
             "https://127.0.0.1:%d%s?read_write=true" % (self.fake.port, CREDS)],
            capture_output=True, check=True, timeout=10)
        decode_auth(out.stdout)


if __name__ == "__main__":
    unittest.main()
