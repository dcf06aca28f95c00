#!/usr/bin/env python3
"""The Rancher source (helper/source_rancher.c) through the real binary, against the fake
Rancher 1.x API (tests/fakes/fake_rancher.py) over TLS from a test CA, with a private keyring.

Ordinary keys (RANCHER_*): store registers with Rancher, erase deactivates and deletes, get
answers from the keyring only, list adds Rancher's active credentials. environmentAdmin keys
(CATTLE_*): get reads Rancher and caches for the TTL. Then failures, each with the exact
stdout and exit code, in bounded time. A small hostile server checks what the fake cannot
send: endless pagination, wrong types, links to other hosts."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import BIN, NOT_FOUND, KeyringCase, run, store_json
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
PLACEHOLDER_EMAIL = "not-really@required.anymore"
MARK = "registered by docker-credential-keyring"
PROG = os.path.basename(BIN)
# The fake's keys: an environment key and an environmentAdmin key of 1a5, an account key that
# is a member of two environments and one that is a member of one.
API_KEYS = ("envkey:envsecret:environment:1a5", "adminkey:adminsecret:envadmin:1a5",
            "acctkey:acctsecret:account:1a5,1a7", "soloacct:solosecret:account:1a5")
CERTS = None


def certs():
    """One test CA for the whole file (mkca.sh is quiet and reuses what exists)."""
    global CERTS
    if CERTS is None:
        CERTS = tempfile.mkdtemp(prefix="rancher-test-ca.")
        subprocess.run(["sh", MKCA, CERTS], check=True)
    return CERTS


class Fake(FakeServer):
    """fake_rancher.py on a free loopback port, and its /_test/ control API."""

    def __init__(self, page_size=100, plain=False, bind=None):
        # Transitions last one request (the fake's default): the helper's next look sees
        # their end, whatever the machine's speed.
        args = ["--page-size", str(page_size)] + ["--api-key=" + k for k in API_KEYS]
        super().__init__("fake_rancher.py", certs(), *args + (["--bind", bind] if bind else []),
                         plain=plain)
        # By name, as users write it: the certificate covers localhost too.
        if not plain:
            self.url = "https://localhost:%d" % self.port

    def reset(self):
        self.control("POST", "reset")

    def state(self):
        return self.control("GET", "state")

    def requests(self):
        return self.control("GET", "requests")

    def clear_requests(self):
        self.control("DELETE", "requests")

    def mode(self, **fault):
        self.control("POST", "mode", fault)

    def seed(self, *registries):
        """seed(("host", [("user", "secret", "state"[, "description"]), …]), …) in project
        1a5. A credential made by hand has no description."""
        regs = [{"serverAddress": host,
                 "credentials": [{"publicValue": c[0], "secretValue": c[1], "state": c[2],
                                  "email": "seed@example.com", "description": c[3] if c[3:] else None}
                                 for c in creds]}
                for host, creds in registries]
        return self.control("POST", "seed", {"registries": regs})

    def writes(self):
        return [(r["method"], r["path"], r["query"]) for r in self.requests()
                if r["method"] in ("POST", "PUT", "DELETE")]

    def credentials(self, host):
        """The credentials (removed ones too) of the registries with this serverAddress."""
        st = self.state()
        ids = {r["id"] for r in st["registries"] if r["serverAddress"] == host}
        return [c for c in st["credentials"] if c["registryId"] in ids]


def one_line(test, out):
    test.assertTrue(out.endswith(b"\n") and out.count(b"\n") == 1, out)
    return out.decode()


def note(text):
    """The stderr a client sees for a source's note: one line, prefixed by the program name."""
    return ("%s: %s\n" % (PROG, text)).encode()


class RancherCase(KeyringCase):
    """A private keyring and a fake Rancher for the class; the fake is reset before each test."""
    page_size = 100

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = Fake(page_size=cls.page_size)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def setUp(self):
        self.fake.reset()
        self.settings = {}

    def helper_env(self, **extra):
        env = dict(self.env)
        for name in ("RANCHER_URL", "RANCHER_ACCESS_KEY", "RANCHER_SECRET_KEY", "CATTLE_URL",
                     "CATTLE_ACCESS_KEY", "CATTLE_SECRET_KEY"):
            env.pop(name, None)
        env["DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE"] = os.path.join(certs(), "ca.pem")
        env["DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT"] = "2s"
        env.update(self.settings)
        env.update(extra)
        return env

    def rh(self, verb, stdin=b"", **extra):
        return run(self.helper_env(**extra), verb, stdin)

    def rstore(self, server, user, secret, **extra):
        return self.rh("store", store_json(server, user, secret), **extra)

    def answer(self, server, user, secret):
        return (json.dumps({"ServerURL": server, "Username": user, "Secret": secret},
                           separators=(",", ":")) + "\n").encode()


class Writeback(RancherCase):
    """Ordinary (environment) API keys: Rancher is a write-back target."""

    def setUp(self):
        super().setUp()
        self.settings = {"RANCHER_URL": self.fake.url + "/v2-beta/projects/1a5",
                         "RANCHER_ACCESS_KEY": "envkey", "RANCHER_SECRET_KEY": "envsecret",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all"}

    def test_a_keyring_that_cannot_answer_is_said_as_for_any_host(self):
        # A write-back host's get said "no entry" when the keyring was not there at all; the
        # reason is the keyring's, as for a host no source serves.
        env = self.helper_env(DOCKER_CREDENTIAL_KEYRING_STORE="secret-service",
                              DBUS_SESSION_BUS_ADDRESS="", XDG_RUNTIME_DIR="/nonexistent")
        for host in ("written-back.example.com", "plain.example.org"):
            r = run(env, "get", host)
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
            self.assertEqual(r.err, b"docker-credential-keyring: no D-Bus session bus: "
                                    b"DBUS_SESSION_BUS_ADDRESS is not set and "
                                    b"$XDG_RUNTIME_DIR/bus does not exist\n", r)

    def test_write_back_is_opt_in(self):
        # The rancher CLI's variables alone do not make every docker login go to Rancher.
        del self.settings["DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS"]
        r = self.rstore("optin.example.com", "u", "p")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual([q for q in self.fake.requests() if q["method"] != "GET"], [])
        self.assertEqual(self.rh("get", "optin.example.com").out, self.answer("optin.example.com", "u", "p"))

    def test_store_creates_registry_and_credential(self):
        r = self.rstore("store.example.com", "alice", "pa/ss\"1")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        st = self.fake.state()
        self.assertEqual([(g["serverAddress"], g["state"]) for g in st["registries"]],
                         [("store.example.com", "active")])
        creds = self.fake.credentials("store.example.com")
        self.assertEqual([(c["publicValue"], c["secretValue"], c["state"]) for c in creds],
                         [("alice", "pa/ss\"1", "active")])
        self.assertNotIn("email", creds[0])  # v2-beta has no email
        r = self.rh("get", "store.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("store.example.com", "alice", "pa/ss\"1")))

    def test_second_store_updates_the_same_credential(self):
        self.assertEqual(self.rstore("upd.example.com", "alice", "one").rc, 0)
        first = self.fake.credentials("upd.example.com")[0]["id"]
        self.fake.clear_requests()
        r = self.rstore("upd.example.com", "bob", "two")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        creds = self.fake.credentials("upd.example.com")
        self.assertEqual([(c["id"], c["publicValue"], c["secretValue"], c["state"]) for c in creds],
                         [(first, "bob", "two", "active")])
        self.assertEqual([w[0] for w in self.fake.writes()], ["PUT"])
        self.assertEqual(len(self.fake.state()["registries"]), 1)

    def test_duplicates_end_with_exactly_one_active(self):
        # Of the credentials store may take (this username's, or made by the helper), exactly
        # one stays active. x was made by hand for another user: it is left alone.
        self.fake.seed(("dup.example.com", [("x", "1", "active"), ("y", "2", "active"),
                                            ("y", "3", "active"), ("z", "4", "active", MARK)]))
        r = self.rstore("dup.example.com", "y", "new")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        creds = [(c["publicValue"], c["state"], c["secretValue"], c.get("description"))
                 for c in self.fake.credentials("dup.example.com")]
        self.assertEqual(creds, [("x", "active", "1", None), ("y", "active", "new", MARK),
                                 ("y", "inactive", "3", None), ("z", "inactive", "4", MARK)])
        self.assertNotIn("POST", [w[0] for w in self.fake.writes() if "action" not in w[2]])
        self.assertEqual(r.err, note(
            "registered with Rancher at %s; it also holds, for dup.example.com, a credential "
            "this helper did not make, for another user, left as it is: 1c1 (user x) (with "
            "several active, Rancher pulls with the lowest id)" % self.fake.url[8:]))

    def test_erase_deactivates_then_deletes(self):
        self.assertEqual(self.rstore("era.example.com", "alice", "pw").rc, 0)
        self.fake.clear_requests()
        r = self.rh("erase", "era.example.com")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        writes = self.fake.writes()
        self.assertEqual([(m, q) for m, _, q in writes], [("POST", "action=deactivate"), ("DELETE", "")])
        self.assertIn(self.fake.credentials("era.example.com")[0]["state"], ("removing", "removed"))
        self.assertEqual((self.rh("get", "era.example.com").rc), 1)
        self.assertNotIn("era.example.com", json.loads(self.rh("list").out))

    def test_get_answers_from_the_keyring_only(self):
        self.fake.seed(("only.example.com", [("ruser", "rsecret", "active")]))
        r = self.rh("get", "only.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertEqual(self.fake.requests(), [])
        self.assertEqual(self.rstore("only.example.com", "me", "mine").rc, 0)
        self.fake.clear_requests()
        r = self.rh("get", "only.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("only.example.com", "me", "mine")), r)
        self.assertEqual(self.fake.requests(), [])

    def test_list_adds_rancher_and_every_key_works(self):
        self.fake.seed(("ra.example.com", [("ra-user", "s", "active")]),
                       ("rb.example.com:5000", [("rb-user", "s", "active")]),
                       ("idle.example.com", [("idle-user", "s", "inactive")]))
        self.assertEqual(self.rstore("kr.example.com", "kr-user", "krpw").rc, 0)
        r = self.rh("list")
        self.assertEqual(r.rc, 0, r)
        want = {"kr.example.com": "kr-user", "ra.example.com": "ra-user",
                "rb.example.com:5000": "rb-user"}
        listed = json.loads(r.out)  # the class's keyring also holds other tests' entries
        self.assertEqual({k: v for k, v in listed.items() if k in want}, want)
        self.assertNotIn("idle.example.com", listed)
        self.assertEqual(self.rh("get", "kr.example.com").out,
                         self.answer("kr.example.com", "kr-user", "krpw"))
        r = self.rh("get", "ra.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        # `podman logout --all`: list, then erase every key. Only the login of this keyring
        # leaves Rancher; what Rancher held from elsewhere stays, for the whole environment.
        for key in want:
            r = self.rh("erase", key)
            self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), (key, r))
        listed = json.loads(self.rh("list").out)
        self.assertEqual({k: v for k, v in listed.items() if k in want},
                         {"ra.example.com": "ra-user", "rb.example.com:5000": "rb-user"})
        live = [c["publicValue"] for c in self.fake.state()["credentials"] if c["state"] == "active"]
        self.assertEqual(live, ["ra-user", "rb-user"])
        self.assertIn(self.fake.credentials("kr.example.com")[0]["state"], ("removing", "removed"))

    def test_list_checks_the_state_itself(self):
        # list asks for state=active; a server that ignores the filter made an inactive
        # credential a listed login (and the lower id won over the active one).
        self.fake.seed(("both.example.com", [("old-user", "s", "inactive"), ("new-user", "s", "active")]),
                       ("idle2.example.com", [("idle-user", "s", "inactive")]))
        self.fake.mode(mode="ignore_filters")
        r = self.rh("list")
        self.assertEqual((r.rc, r.err), (0, b""), r)
        listed = json.loads(r.out)
        self.assertEqual(listed.get("both.example.com"), "new-user", listed)
        self.assertNotIn("idle2.example.com", listed)
        self.assertIn("state=active", [q["query"] for q in self.fake.requests()])

    def test_docker_hub_spellings_are_one_registry(self):
        self.assertEqual(self.rstore("https://index.docker.io/v1/", "hub", "one").rc, 0)
        self.assertEqual(self.rstore("docker.io", "hub", "two").rc, 0)
        st = self.fake.state()
        self.assertEqual([g["serverAddress"] for g in st["registries"]], ["index.docker.io"])
        self.assertEqual([(c["secretValue"], c["state"]) for c in st["credentials"]],
                         [("two", "active")])
        # The login is under the key docker.io (as podman stores it): erasing that removes it.
        self.assertEqual(self.rh("erase", "docker.io").rc, 0)
        self.assertIn(self.fake.credentials("index.docker.io")[0]["state"], ("removing", "removed"))

    def test_v1_sends_email(self):
        self.settings["RANCHER_URL"] = self.fake.url + "/v1/projects/1a5"
        self.assertEqual(self.rstore("v1.example.com", "u", "p").rc, 0)
        self.assertEqual(self.rstore("v1b.example.com", "u", "p",
                                     DOCKER_CREDENTIAL_KEYRING_RANCHER_EMAIL="ops@example.com").rc, 0)
        emails = [c.get("email") for c in self.fake.state()["credentials"]]
        self.assertEqual(emails, [PLACEHOLDER_EMAIL, "ops@example.com"])

    def test_server_url_learns_the_project(self):
        self.settings["RANCHER_URL"] = self.fake.url
        self.assertEqual(self.rstore("learn.example.com", "u", "p").rc, 0)
        paths = [r["path"] for r in self.fake.requests()]
        self.assertEqual(paths[0], "/v2-beta/registries")
        self.assertTrue(all(p.startswith("/v2-beta/projects/1a5/") for p in paths[1:]), paths)
        self.assertEqual(self.fake.credentials("learn.example.com")[0]["state"], "active")

    def test_identity_token_is_not_shared(self):
        r = self.rstore("idtoken.example.com", "<token>", "refresh-token")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(self.fake.requests(), [])
        self.assertEqual(self.rh("get", "idtoken.example.com").out,
                         self.answer("idtoken.example.com", "<token>", "refresh-token"))

    def test_read_only_never_writes(self):
        self.fake.seed(("ro.example.com", [("ro-user", "s", "active")]))
        ro = {"DOCKER_CREDENTIAL_KEYRING_RANCHER_READ_ONLY": "true"}
        self.assertEqual(self.rstore("ro.example.com", "me", "p", **ro).rc, 0)
        self.assertEqual(self.rstore("ro2.example.com", "me", "p", **ro).rc, 0)
        self.assertEqual(self.rh("erase", "ro.example.com", **ro).rc, 0)
        listed = json.loads(self.rh("list", **ro).out)
        self.assertEqual((listed.get("ro.example.com"), listed.get("ro2.example.com")), ("ro-user", "me"))
        self.assertEqual(self.fake.writes(), [])
        self.assertEqual(self.fake.credentials("ro.example.com")[0]["state"], "active")

    def test_only_the_managed_hosts(self):
        hosts = {"DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "managed.example.com, docker.io"}
        self.assertEqual(self.rstore("other.example.com", "u", "p", **hosts).rc, 0)
        self.assertEqual(self.fake.requests(), [])
        self.assertEqual(self.rstore("managed.example.com", "u", "p", **hosts).rc, 0)
        self.assertEqual(self.rstore("https://index.docker.io/v1/", "u", "p", **hosts).rc, 0)
        self.assertEqual(sorted(g["serverAddress"] for g in self.fake.state()["registries"]),
                         ["index.docker.io", "managed.example.com"])

    def test_saved_secret_key(self):
        r = run(self.helper_env(), None, b"envsecret\n", args=["login", "rancher"])
        self.assertEqual(r.rc, 0, r)
        env = self.helper_env()
        del env["RANCHER_SECRET_KEY"]
        r = run(env, "store", store_json("saved.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(self.fake.requests()[0]["access_key"], "envkey")
        listed = json.loads(run(env, "list").out)
        self.assertEqual(listed["saved.example.com"], "u")
        self.assertFalse([k for k in listed if k.startswith("docker-credential-keyring:")], listed)


class Ownership(RancherCase):
    """A credential in Rancher serves the whole environment: a logout removes only what this
    helper registered for that login, and a login never takes over what someone made for
    another user."""

    def setUp(self):
        super().setUp()
        self.settings = {"RANCHER_URL": self.fake.url + "/v2-beta/projects/1a5",
                         "RANCHER_ACCESS_KEY": "envkey", "RANCHER_SECRET_KEY": "envsecret",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all"}
        self.host = self.fake.url[len("https://"):]

    def states(self, host):
        return [(c["publicValue"], c["state"]) for c in self.fake.credentials(host)]

    def test_erase_without_a_login_asks_nothing(self):
        # `docker logout quay.io` by someone who never logged in to quay.io here.
        self.fake.seed(("quay.io", [("team-bot", "s", "active")]))
        r = self.rh("erase", "quay.io")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)
        self.assertEqual(self.fake.requests(), [])
        self.assertEqual(self.states("quay.io"), [("team-bot", "active")])

    def test_erase_leaves_what_it_did_not_register_and_says_so(self):
        # The keyring holds alice's login (stored while write-back was off); Rancher holds a
        # credential of alice made by hand, and bob's: neither is this helper's to remove.
        self.fake.seed(("shared.example.com", [("alice", "a", "active"), ("bob", "b", "inactive")]))
        r = self.rstore("shared.example.com", "alice", "pw",
                        DOCKER_CREDENTIAL_KEYRING_RANCHER_READ_ONLY="true")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        r = self.rh("erase", "shared.example.com")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(r.err, note(
            "Rancher at %s still holds, for shared.example.com, credentials this helper did not "
            "register for this login, left as they are: 1c1 (user alice, not registered by this "
            "helper), 1c2 (user bob)" % self.host))
        self.assertEqual(self.fake.writes(), [])
        self.assertEqual(self.states("shared.example.com"), [("alice", "active"), ("bob", "inactive")])
        self.assertEqual(self.rh("get", "shared.example.com").rc, 1)  # the keyring part happened

    def test_erase_removes_only_its_own(self):
        self.fake.seed(("own.example.com", [("bob", "b", "inactive")]))
        self.assertEqual(self.rstore("own.example.com", "alice", "pw").rc, 0)
        mine = [c for c in self.fake.credentials("own.example.com") if c["publicValue"] == "alice"]
        self.assertEqual([(c["state"], c["description"]) for c in mine], [("active", MARK)])
        self.fake.clear_requests()
        r = self.rh("erase", "own.example.com")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(r.err, note(
            "Rancher at %s still holds, for own.example.com, credentials this helper did not "
            "register for this login, left as they are: 1c1 (user bob)" % self.host))
        self.assertEqual([(m, p.rstrip("/").rsplit("/", 1)[-1], q) for m, p, q in self.fake.writes()],
                         [("POST", mine[0]["id"], "action=deactivate"), ("DELETE", mine[0]["id"], "")])
        self.assertEqual(self.states("own.example.com")[0], ("bob", "inactive"))

    def test_store_leaves_another_users_credential(self):
        self.fake.seed(("team.example.com", [("team-bot", "bot-secret", "active")]))
        r = self.rstore("team.example.com", "alice", "pw")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(r.err, note(
            "stored in the keyring only: Rancher at %s holds, for team.example.com, a "
            "credential this helper did not make, for another user, left as it is: 1c1 (user "
            "team-bot). Log in with that username to update it, or remove it in Rancher "
            "first" % self.host))
        self.assertEqual(self.fake.writes(), [])
        creds = self.fake.credentials("team.example.com")
        self.assertEqual([(c["publicValue"], c["secretValue"], c["state"]) for c in creds],
                         [("team-bot", "bot-secret", "active")])
        self.assertEqual(self.rh("get", "team.example.com").out,
                         self.answer("team.example.com", "alice", "pw"))

    def test_store_updates_the_same_username_and_marks_it(self):
        self.fake.seed(("same.example.com", [("alice", "old", "active")]))
        r = self.rstore("same.example.com", "alice", "new")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)
        self.assertEqual([w[0] for w in self.fake.writes()], ["PUT"])
        creds = self.fake.credentials("same.example.com")
        self.assertEqual([(c["secretValue"], c["state"], c["description"]) for c in creds],
                         [("new", "active", MARK)])
        # Now it is this login's: logout removes it.
        self.assertEqual(self.rh("erase", "same.example.com").rc, 0)
        self.assertIn(self.states("same.example.com")[0][1], ("removing", "removed"))

    def test_v1_update_keeps_the_email(self):
        self.settings["RANCHER_URL"] = self.fake.url + "/v1/projects/1a5"
        self.fake.seed(("mail.example.com", [("alice", "old", "active")]))  # email seed@example.com
        self.assertEqual(self.rstore("mail.example.com", "alice", "new").rc, 0)
        put = [q for q in self.fake.requests() if q["method"] == "PUT"]
        self.assertNotIn("email", put[0]["body"])
        self.assertEqual([c["email"] for c in self.fake.credentials("mail.example.com")],
                         ["seed@example.com"])
        # A configured email is the user's choice: it is sent.
        self.assertEqual(self.rstore("mail.example.com", "alice", "newer",
                                     DOCKER_CREDENTIAL_KEYRING_RANCHER_EMAIL="ops@example.com").rc, 0)
        self.assertEqual([c["email"] for c in self.fake.credentials("mail.example.com")],
                         ["ops@example.com"])


class Failures(RancherCase):
    """Every failure is one line, the keyring side still happens, and time stays bounded."""

    def setUp(self):
        super().setUp()
        self.settings = {"RANCHER_URL": self.fake.url + "/v2-beta/projects/1a5",
                         "RANCHER_ACCESS_KEY": "envkey", "RANCHER_SECRET_KEY": "envsecret",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE": "1500ms"}

    def test_wrong_key_is_one_line(self):
        r = self.rstore("deny.example.com", "u", "p", RANCHER_SECRET_KEY="wrong-secret")
        self.assertEqual(r.rc, 1, r)
        line = one_line(self, r.out)
        self.assertIn("401 Unauthorized", line)
        self.assertIn("RANCHER_SECRET_KEY", line)
        self.assertNotIn("wrong-secret", line + r.err.decode())
        self.assertEqual(len(self.fake.requests()), 1)  # not retried
        self.assertEqual(self.rh("get", "deny.example.com").out, self.answer("deny.example.com", "u", "p"))

    def test_store_when_rancher_fails(self):
        self.fake.mode(mode="status", status=500, message="database is on fire")
        r = self.rstore("down.example.com", "u", "p")
        self.assertEqual(r.rc, 1, r)
        line = one_line(self, r.out)
        self.assertTrue(line.startswith("stored in the keyring, but not registered with Rancher: "), line)
        self.assertIn("500 Internal Server Error: database is on fire", line)
        self.assertLess(r.seconds, 4, r)
        self.assertGreater(len(self.fake.requests()), 1)  # retried within the deadline
        self.fake.mode(mode="normal")
        self.assertEqual(self.rh("get", "down.example.com").out, self.answer("down.example.com", "u", "p"))

    def test_proxy_error_page(self):
        self.fake.mode(mode="status", status=502, html=True)
        r = self.rstore("proxy.example.com", "u", "p")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("HTTP 502, and not an answer of Rancher's API", one_line(self, r.out))

    def test_failed_create_is_retried_once_listed(self):
        self.fake.mode(mode="fail_action", op="create", type="registryCredential", count=1)
        r = self.rstore("again.example.com", "u", "p", DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE="5s")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        calls = [(q["method"], q["path"].rsplit("/", 1)[-1], q["status"]) for q in self.fake.requests()]
        self.assertEqual(calls[:5], [("GET", "registries", 200), ("POST", "registries", 201),
                                     ("POST", "registrycredentials", 500),
                                     ("GET", "registrycredentials", 200),  # listed before a retry
                                     ("POST", "registrycredentials", 201)])
        self.assertEqual([c["state"] for c in self.fake.credentials("again.example.com")], ["active"])

    def test_failed_deactivate_is_retried(self):
        self.assertEqual(self.rstore("retry.example.com", "u", "p").rc, 0)
        self.fake.clear_requests()
        self.fake.mode(mode="fail_action", op="deactivate", count=2)
        r = self.rh("erase", "retry.example.com", DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE="5s")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        tries = [(w["query"], w["status"]) for w in self.fake.requests() if w["method"] != "GET"]
        self.assertEqual(tries, [("action=deactivate", 500)] * 2 + [("action=deactivate", 200), ("", 200)])
        self.assertIn(self.fake.credentials("retry.example.com")[0]["state"], ("removing", "removed"))

    def test_failed_first_list_of_erase_is_retried(self):
        self.assertEqual(self.rstore("relist.example.com", "u", "p").rc, 0)
        self.fake.clear_requests()
        self.fake.mode(mode="status", status=502, code="BadGateway", message="proxy", count=1)
        r = self.rh("erase", "relist.example.com", DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE="5s")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(self.fake.requests()[0]["status"], 502)
        self.assertIn(self.fake.credentials("relist.example.com")[0]["state"], ("removing", "removed"))

    def test_failed_delete_says_what_is_left(self):
        self.assertEqual(self.rstore("left.example.com", "u", "p").rc, 0)
        cid = self.fake.credentials("left.example.com")[0]["id"]
        self.fake.mode(mode="fail_action", op="delete")
        r = self.rh("erase", "left.example.com")
        self.assertEqual(r.rc, 1, r)
        line = one_line(self, r.out)
        self.assertIn("erased from the keyring, but not from Rancher", line)
        self.assertIn("%s (inactive)" % cid, line)
        self.assertIn("injected failure of delete", line)
        self.assertLess(r.seconds, 4, r)
        self.assertEqual(self.fake.credentials("left.example.com")[0]["state"], "inactive")
        self.assertEqual(self.rh("get", "left.example.com").rc, 1)

    def test_stuck_transition_is_reported(self):
        self.fake.mode(mode="stuck_transitioning", count=1)  # held until settled
        r = self.rstore("stuck.example.com", "u", "p")
        self.assertEqual(r.rc, 1, r)
        line = one_line(self, r.out)
        self.assertRegex(line, r"credential 1c\d+ is still registering: In Progress after 1.5s\n$")
        self.assertGreater(r.seconds, 1.4)
        self.assertLess(r.seconds, 4, r)

    def test_slow_transition_is_waited_for(self):
        # Four of the helper's looks still see it registering.
        self.fake.mode(mode="stuck_transitioning", steps=5, count=1)
        r = self.rstore("slow.example.com", "u", "p", DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE="5s")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(self.fake.credentials("slow.example.com")[0]["state"], "active")

    def test_silent_rancher_is_bounded(self):
        self.fake.mode(mode="silence", seconds=10)
        r = self.rstore("silent.example.com", "u", "p")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("did not answer in time", one_line(self, r.out))
        self.assertLess(r.seconds, 4, r)

    def test_bad_url_setting(self):
        # A broken URL: store stops with the setting named; list goes on without Rancher and
        # says why. (A Rancher 2.x URL is not broken: see RancherTwo.)
        r = self.rstore("badurl.example.com", "u", "p",
                        RANCHER_URL="https://rancher.example.com/v2-beta/projects/c-x")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("RANCHER_URL: expected https://HOST", one_line(self, r.out))
        r = self.rh("list", RANCHER_URL="https://rancher.example.com/v2-beta/projects/c-x")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"RANCHER_URL: expected https://HOST", r.err)
        self.assertIn(b"going on without it", r.err)

    def test_timings_out_of_range_are_named(self):
        # Out of range, or surely meant in another unit, is an error: never a silent clamp
        # (the deadline was made 100 ms or 10 min, a cache-ttl over a day one day, a timeout
        # of 0 one millisecond).
        cases = [
            ("DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE", "0"),
            ("DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE", "3000"),   # 50 minutes: meant as ms?
            ("DOCKER_CREDENTIAL_KEYRING_RANCHER_CACHE_TTL", "100000"),  # 28 hours: ms?
            ("DOCKER_CREDENTIAL_KEYRING_RANCHER_CACHE_TTL", "2d"),
            ("DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT", "0"),
            ("DOCKER_CREDENTIAL_KEYRING_RANCHER_CONNECT_TIMEOUT", "2h"),
        ]
        for var, value in cases:
            with self.subTest(var=var, value=value):
                r = self.rstore("range.example.com", "u", "p", **{var: value})
                self.assertEqual(r.rc, 1, r)
                self.assertTrue(one_line(self, r.out).startswith(var + ": "), r)


def doctor_lines(env):
    """doctor's line for the rancher source, and the fix line under it ("" when none)."""
    r = run(env, None, args=["doctor"])
    lines = r.out.decode().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  rancher: "):
            after = lines[i + 1] if i + 1 < len(lines) else ""
            return r, line, after if after.startswith("    fix: ") else ""
    raise AssertionError("doctor has no rancher line: %r" % (r,))


class AccountKeys(RancherCase):
    """An account key (a user's: the rancher CLI's) with a server URL: Rancher says what the key
    is (X-Api-Account-Kind) and which environments it may use (the projects list)."""

    def setUp(self):
        super().setUp()
        self.settings = {"RANCHER_URL": self.fake.url, "RANCHER_ACCESS_KEY": "acctkey",
                         "RANCHER_SECRET_KEY": "acctsecret",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all"}
        self.host = self.fake.url[len("https://"):]
        self.several = (
            "Rancher at %s: the key acctkey is an account key (user) with 2 environments: 1a5 "
            "(Environment 1a5), 1a7 (Environment 1a7); name one: "
            "DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT=1a5, or RANCHER_URL=%s/v2-beta/projects/1a5"
            % (self.host, self.fake.url))

    def test_several_environments_are_listed(self):
        r = self.rstore("acct.example.com", "u", "p")
        self.assertEqual((r.rc, r.out), (1, ("stored in the keyring, but not registered with "
                                             "Rancher: %s\n" % self.several).encode()), r)
        self.assertEqual([(q["method"], q["path"]) for q in self.fake.requests()],
                         [("GET", "/v2-beta/registries"), ("GET", "/v2-beta/projects")])
        # Named as the line says, it works, in that environment.
        r = self.rstore("acct.example.com", "u", "p", DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT="1a7")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual([(g["serverAddress"], g["project"]) for g in self.fake.state()["registries"]],
                         [("acct.example.com", "1a7")])

    def test_the_only_environment_is_used(self):
        r = self.rstore("solo.example.com", "u", "p", RANCHER_ACCESS_KEY="soloacct",
                        RANCHER_SECRET_KEY="solosecret")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        paths = [q["path"] for q in self.fake.requests()]
        self.assertEqual(paths[:2], ["/v2-beta/registries", "/v2-beta/projects"])
        self.assertTrue(all(p.startswith("/v2-beta/projects/1a5/") for p in paths[2:]), paths)
        self.assertEqual([(g["serverAddress"], g["project"]) for g in self.fake.state()["registries"]],
                         [("solo.example.com", "1a5")])

    def test_a_rancher_that_does_not_say_the_kind(self):
        # Without X-Api-Account-Kind, an environment key is known by its account id among the
        # environments listed.
        self.fake.mode(mode="omit_headers", headers=["X-Api-Account-Kind"])
        r = self.rstore("nokind.example.com", "u", "p", RANCHER_ACCESS_KEY="envkey",
                        RANCHER_SECRET_KEY="envsecret")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual([g["project"] for g in self.fake.state()["registries"]], ["1a5"])
        r = self.rstore("nokind.example.com", "u", "p")
        self.assertEqual((r.rc, r.out), (1, ("stored in the keyring, but not registered with "
                                             "Rancher: %s\n" % self.several.replace(
                                                 "(user)", "(not an environment's)")).encode()), r)

    def test_doctor_tells_what_the_key_is(self):
        r, line, fix = doctor_lines(self.helper_env())
        self.assertEqual((line, fix), ("  rancher: " + self.several,
                                       "    fix: correct the setting the line above names"), r)
        r, line, fix = doctor_lines(self.helper_env(RANCHER_ACCESS_KEY="soloacct",
                                                    RANCHER_SECRET_KEY="solosecret"))
        self.assertEqual((line, fix), ("  rancher: key accepted (RANCHER_* key soloacct (account "
                                       "key, user): environment 1a5, the only one it may use, 0 "
                                       "registries)", ""), r)
        r, line, fix = doctor_lines(self.helper_env(
            RANCHER_URL=self.fake.url + "/v2-beta/projects/1a7"))
        self.assertEqual(line, "  rancher: key accepted (RANCHER_* key acctkey (account key, "
                               "user): environment 1a7, 0 registries)", r)


class RancherTwo(RancherCase):
    """A Rancher 2.x URL (API v3): the helper cannot write there, and says so."""
    NOTE = ("RANCHER_URL points to Rancher 2.x (API v3) at rancher.example.com, and this helper "
            "writes logins back to Rancher 1.x only (API v1, v2-beta); with 2.x, logins stay in "
            "the keyring: to share one with a project, add it there as a registry credential "
            "(Rancher's UI: Resources, Secrets, Registry Credentials; or `kubectl create secret "
            "docker-registry`)")

    def setUp(self):
        super().setUp()
        self.settings = {"RANCHER_URL": "https://rancher.example.com/v3",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all"}

    def test_store_and_erase_say_it(self):
        r = self.rstore("two.example.com", "u", "p")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", note("stored in the keyring only: " + self.NOTE)), r)
        r = self.rh("get", "two.example.com")
        self.assertEqual((r.rc, r.out, r.err), (0, self.answer("two.example.com", "u", "p"), b""), r)
        r = self.rh("erase", "two.example.com")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", note("erased from the keyring only: " + self.NOTE)), r)

    def test_with_keys_and_a_project_url(self):
        # The rancher2 CLI's settings: no longer an error that stops every store.
        r = self.rstore("two.example.com", "u", "p", RANCHER_ACCESS_KEY="token-abcde",
                        RANCHER_SECRET_KEY="s3cr3t-v3",
                        RANCHER_URL="https://k:s@rancher.example.com/v3/projects/c-x:p-y")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", note("stored in the keyring only: " + self.NOTE)), r)
        r = self.rh("list", RANCHER_ACCESS_KEY="token-abcde")
        self.assertEqual((r.rc, r.err), (0, b""), r)

    def test_doctor_says_it(self):
        r, line, fix = doctor_lines(self.helper_env())
        self.assertEqual(line, "  rancher: DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS asks for "
                               "write-back, but " + self.NOTE, r)
        self.assertEqual(fix, "    fix: correct the setting the line above names", r)
        env = self.helper_env()
        del env["DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS"]
        r, line, fix = doctor_lines(env)
        self.assertEqual((line, fix), ("  rancher: not in use: " + self.NOTE, ""), r)
        # Without hosts nothing is written back, so nothing is said on store.
        r = run(env, "store", store_json("quiet.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)

    def test_doctor_fix_when_routed_by_name(self):
        # A docker config that sends a registry to docker-credential-rancher: the fix was
        # "set RANCHER_SECRET_KEY or run `… login rancher`", which does nothing with 2.x.
        d = tempfile.mkdtemp(prefix="rancher-two.")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"credHelpers": {"two.example.com": "rancher"}}, f)
        env = self.helper_env(DOCKER_CONFIG=d, REGISTRY_AUTH_FILE=os.path.join(d, "auth.json"))
        del env["DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS"]
        r, line, fix = doctor_lines(env)
        self.assertEqual((line, fix), (
            "  rancher: " + self.NOTE,
            "    fix: with Rancher 2.x, logins stay in the keyring: route those registries to it "
            "by its own name, `docker-credential-keyring configure HOST...` (it writes "
            "\"keyring\" over \"rancher\"); to share a login with a project, add it in Rancher "
            "as a registry credential (Resources, Secrets, Registry Credentials) or with "
            "`kubectl create secret docker-registry`"), r)
        # The fix does what it says: doctor then finds nothing to fix here.
        self.assertEqual(run(env, None, args=["configure", "two.example.com"]).rc, 0)
        r, line, fix = doctor_lines(env)
        self.assertEqual((line, fix), ("  rancher: not in use: " + self.NOTE, ""), r)


def named_address():
    """A name of this machine that is not "localhost" nor an address, and what it resolves to
    (/etc/hosts): a host a user could name in allow-plain-http."""
    name = socket.gethostname()
    try:
        addr = socket.gethostbyname(name)
    except OSError:
        return None, None
    if name.lower() == "localhost" or name.replace(".", "").isdigit():
        return None, None
    return name, addr


class PlainHttp(KeyringCase):
    """Rancher 1.x's default install serves http://HOST:8080: plain http only to a host the
    user names, never by default, with a warning on stderr on every run that sends the key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name, addr = named_address()
        if not cls.name:
            raise unittest.SkipTest("this machine's name does not resolve to an address")
        cls.fake = Fake(plain=True, bind=addr)
        cls.loop = cls.fake if addr == "127.0.0.1" else Fake(plain=True)

    @classmethod
    def tearDownClass(cls):
        for fake in {cls.fake, cls.loop}:
            fake.stop()
        super().tearDownClass()

    def setUp(self):
        self.fake.reset()
        self.loop.reset()

    def penv(self, url, **extra):
        env = dict(self.ks.env)
        for name in ("RANCHER_URL", "RANCHER_ACCESS_KEY", "RANCHER_SECRET_KEY", "CATTLE_URL",
                     "CATTLE_ACCESS_KEY", "CATTLE_SECRET_KEY"):
            env.pop(name, None)
        env.update(RANCHER_URL=url, RANCHER_ACCESS_KEY="envkey", RANCHER_SECRET_KEY="envsecret",
                   DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS="all",
                   DOCKER_CREDENTIAL_KEYRING_RANCHER_DEADLINE="1500ms")
        env.update(extra)
        return env

    def named_url(self):
        return "http://%s:%d/v2-beta/projects/1a5" % (self.name, self.fake.port)

    def test_a_named_host_with_a_warning(self):
        for allowed in (self.name, "%s:%d" % (self.name.upper(), self.fake.port),
                        "other.example.com, " + self.name):
            self.fake.reset()
            r = run(self.penv(self.named_url(), DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP=allowed),
                    "store", store_json("plain.example.com", "u", "p"))
            self.assertEqual((r.rc, r.out), (0, b""), (allowed, r))
            self.assertEqual(r.err, note(
                "warning: plain http to %s:%d (allowed by "
                "DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP): the API key and what it "
                "sends cross the network unencrypted" % (self.name, self.fake.port)), r)
            self.assertGreater(len(self.fake.requests()), 2)  # one warning for them all
            self.assertEqual([c["state"] for c in self.fake.state()["credentials"]], ["active"])

    def test_refused_unless_named(self):
        refused = ("stored in the keyring, but not registered with Rancher: Rancher: cannot list "
                   "registries: refusing http://%s: only https is allowed (plain http only to a "
                   "host named in allow-plain-http, or to loopback when it is true)\n" % self.name)
        for allowed in (None, "true", "%s:1" % self.name, "other.example.com"):
            extra = {} if allowed is None else {"DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP": allowed}
            r = run(self.penv(self.named_url(), **extra), "store", store_json("no.example.com", "u", "p"))
            self.assertEqual((r.rc, r.out, r.err), (1, refused.encode(), b""), (allowed, r))
        self.assertEqual(self.fake.requests(), [])

    def test_a_url_is_not_a_host(self):
        r = run(self.penv(self.named_url(), DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP="http://" + self.name),
                "store", store_json("no.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out), (1, (
            "DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP: \"http://%s\" is not a host: give "
            "true, false or hosts as HOST or HOST:PORT, separated by commas\n" % self.name).encode()), r)

    def test_loopback_is_parsed_not_matched_by_prefix(self):
        r = run(self.penv("http://127.0.0.1:%d/v2-beta/projects/1a5" % self.loop.port,
                         DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP="true"),
                "store", store_json("loop.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)  # loopback: no warning
        r = run(self.penv("http://127.attacker.example:%d/v2-beta/projects/1a5" % self.loop.port,
                         DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP="true"),
                "store", store_json("loop.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out), (1, (
            "stored in the keyring, but not registered with Rancher: Rancher: cannot list "
            "registries: refusing http://127.attacker.example: only https is allowed (plain http "
            "only to a host named in allow-plain-http, or to loopback when it is true)\n").encode()), r)

    def test_reads_warn_too_and_doctor_says_it(self):
        self.fake.control("POST", "seed", {"registries": [{"serverAddress": "read.example.com",
            "credentials": [{"publicValue": "ru", "secretValue": "rs", "state": "active"}]}]})
        env = self.penv(self.named_url(), DOCKER_CREDENTIAL_KEYRING_RANCHER_ALLOW_PLAIN_HTTP=self.name,
                       CATTLE_ACCESS_KEY="adminkey", CATTLE_SECRET_KEY="adminsecret")
        r = run(env, "get", "read.example.com")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"warning: plain http to %s:%d" % (self.name.encode(), self.fake.port), r.err)
        self.assertEqual(r.err.count(b"\n"), 1, r)
        r, line, fix = doctor_lines(env)
        self.assertEqual(line, "  rancher: keys accepted (RANCHER_* key envkey: environment 1a5, "
                               "1 registry; warning: plain http, the key crosses the network "
                               "unencrypted; CATTLE_* key adminkey: environment 1a5, 1 registry; "
                               "warning: plain http, the key crosses the network unencrypted)", r)


class KeyFiles(RancherCase):
    """The secret keys from files, as Kubernetes keeps them: checked like a secret."""

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="rancher-keys.")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.settings = {"RANCHER_URL": self.fake.url + "/v2-beta/projects/1a5",
                         "RANCHER_ACCESS_KEY": "envkey",
                         "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all"}

    def key_file(self, content, name="key"):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, 0o600)
        return path

    def test_secret_key_from_a_file(self):
        path = self.key_file(b"envsecret\n")
        r = self.rstore("file.example.com", "u", "p",
                        DOCKER_CREDENTIAL_KEYRING_RANCHER_SECRET_KEY_FILE=path)
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)
        self.assertEqual({q["access_key"] for q in self.fake.requests()}, {"envkey"})
        self.assertEqual([c["state"] for c in self.fake.credentials("file.example.com")], ["active"])
        # A get answered by the keyring reads no file: a missing one does not matter then.
        r = self.rh("get", "file.example.com",
                    DOCKER_CREDENTIAL_KEYRING_RANCHER_SECRET_KEY_FILE=path + ".gone")
        self.assertEqual((r.rc, r.out, r.err), (0, self.answer("file.example.com", "u", "p"), b""), r)

    def test_cattle_secret_key_from_a_file(self):
        self.fake.seed(("cfile.example.com", [("ru", "rs", "active")]))
        path = self.key_file(b"adminsecret")
        r = self.rh("get", "cfile.example.com", RANCHER_URL="", RANCHER_ACCESS_KEY="",
                    CATTLE_URL=self.fake.url + "/v2-beta", CATTLE_ACCESS_KEY="adminkey",
                    DOCKER_CREDENTIAL_KEYRING_RANCHER_CATTLE_SECRET_KEY_FILE=path)
        self.assertEqual((r.rc, r.out), (0, self.answer("cfile.example.com", "ru", "rs")), r)

    def test_bad_files_are_one_line_naming_the_setting(self):
        setting = "DOCKER_CREDENTIAL_KEYRING_RANCHER_SECRET_KEY_FILE"
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo)
        cases = [(os.path.join(self.dir, "missing"), "cannot open %s: No such file or directory"),
                 (self.key_file(b"env\x01secret", "ctl"), "%s holds control characters, spaces or "
                  "non-ASCII bytes: not a secret key"),
                 (self.key_file(b"env secret", "space"), "%s holds control characters, spaces or "
                  "non-ASCII bytes: not a secret key"),
                 (self.key_file(b"k" * 2000, "big"), "%s is larger than 1024 bytes or unreadable: "
                  "not a secret key file"),
                 (self.key_file(b" \n", "empty"), "%s is empty"),
                 (self.dir, "%s is not a regular file"),
                 (fifo, "%s is not a regular file")]
        for path, why in cases:
            r = self.rstore("badfile.example.com", "u", "p", **{setting: path})
            self.assertEqual((r.rc, r.out), (1, ("stored in the keyring, but not registered with "
                                                 "Rancher: %s: %s\n" % (setting, why % path)).encode()), r)
            self.assertLess(r.seconds, 5, r)
        self.assertEqual(self.fake.requests(), [])

    def test_a_nul_is_not_white_space(self):
        # NUL bytes around the key were trimmed like a newline: "envsecret\0" was sent as the
        # key, and a file of NULs was "empty".
        setting = "DOCKER_CREDENTIAL_KEYRING_RANCHER_SECRET_KEY_FILE"
        for content in (b"envsecret\x00\n", b"\x00envsecret", b"\x00"):
            path = self.key_file(content, "nul")
            r = self.rstore("nulfile.example.com", "u", "p", **{setting: path})
            self.assertEqual((r.rc, r.out), (1, (
                "stored in the keyring, but not registered with Rancher: %s: %s holds control "
                "characters, spaces or non-ASCII bytes: not a secret key\n" % (setting, path)
            ).encode()), (content, r))
        self.assertEqual(self.fake.requests(), [])

    def test_config_file_setting_and_doctor(self):
        config = self.key_file(b"[rancher]\nsecret-key-file = /nonexistent/rancher-key\n", "config")
        env = self.helper_env(DOCKER_CREDENTIAL_KEYRING_CONFIG=config)
        r = run(env, "store", store_json("cfg.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out), (1, b"stored in the keyring, but not registered with Rancher: "
                                            b"rancher.secret-key-file: cannot open "
                                            b"/nonexistent/rancher-key: No such file or directory\n"), r)
        r, line, fix = doctor_lines(env)
        self.assertEqual((line, fix), ("  rancher: rancher.secret-key-file: cannot open "
                                       "/nonexistent/rancher-key: No such file or directory",
                                       "    fix: correct the setting the line above names"), r)


class EnvironmentAdmin(RancherCase):
    """CATTLE_* keys of an environmentAdmin system-stack container: Rancher is a read source."""

    def setUp(self):
        super().setUp()
        self.settings = {"CATTLE_URL": self.fake.url + "/v1", "CATTLE_ACCESS_KEY": "adminkey",
                         "CATTLE_SECRET_KEY": "adminsecret"}

    def test_get_reads_rancher_and_caches(self):
        self.fake.seed(("read.example.com", [("ruser", "r\\/secret", "active")]))
        r = self.rh("get", "read.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("read.example.com", "ruser", "r\\/secret")), r)
        self.assertEqual(len(self.fake.requests()), 2)  # registries, then its active credential
        self.fake.clear_requests()
        r = self.rh("get", "read.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("read.example.com", "ruser", "r\\/secret")), r)
        self.assertEqual(self.fake.requests(), [])

    def test_cached_answer_while_rancher_is_down_then_expiry(self):
        self.fake.seed(("cache.example.com", [("cuser", "csecret", "active")]))
        ttl = {"DOCKER_CREDENTIAL_KEYRING_RANCHER_CACHE_TTL": "2s",
               "DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT": "700ms"}
        self.assertEqual(self.rh("get", "cache.example.com", **ttl).rc, 0)
        self.fake.mode(mode="silence", seconds=5)
        r = self.rh("get", "cache.example.com", **ttl)
        self.assertEqual((r.rc, r.out), (0, self.answer("cache.example.com", "cuser", "csecret")), r)
        self.assertLess(r.seconds, 1, r)
        time.sleep(2.1)
        r = self.rh("get", "cache.example.com", **ttl)
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"did not answer in time", r.err)
        self.assertLess(r.seconds, 3, r)

    def test_null_secret_value(self):
        self.fake.seed(("null.example.com", [("nuser", "nsecret", "active")]))
        r = self.rh("get", "null.example.com", CATTLE_ACCESS_KEY="envkey", CATTLE_SECRET_KEY="envsecret")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"this key cannot read Rancher's secrets", r.err)
        self.assertEqual(r.err.count(b"\n"), 1)

    def test_docker_hub_spellings_and_misses(self):
        self.fake.seed(("index.docker.io", [("hub", "hubpw", "active")]),
                       ("gone.example.com", [("g", "gpw", "inactive")]))
        for key in ("docker.io", "index.docker.io", "https://index.docker.io/v1/"):
            r = self.rh("get", key)
            self.assertEqual((r.rc, r.out), (0, self.answer(key, "hub", "hubpw")), (key, r))
        r = self.rh("get", "gone.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"Rancher has no active credential for gone.example.com", r.err)

    def test_login_wins(self):
        self.fake.seed(("win.example.com", [("ruser", "rpw", "active")]))
        self.assertEqual(self.rstore("win.example.com", "me", "mine").rc, 0)
        self.fake.clear_requests()
        r = self.rh("get", "win.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("win.example.com", "me", "mine")), r)
        self.assertEqual(self.fake.requests(), [])


class Pagination(RancherCase):
    page_size = 2

    def setUp(self):
        super().setUp()
        self.settings = {"CATTLE_URL": self.fake.url + "/v2-beta", "CATTLE_ACCESS_KEY": "adminkey",
                         "CATTLE_SECRET_KEY": "adminsecret"}

    def test_every_page_is_read(self):
        self.fake.seed(*[("p%d.example.com" % i, [("u%d" % i, "s%d" % i, "active")]) for i in range(7)])
        r = self.rh("get", "p6.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("p6.example.com", "u6", "s6")), r)
        self.assertEqual([q["query"] for q in self.fake.requests()][:4],
                         ["", "marker=m2", "marker=m4", "marker=m6"])
        self.assertEqual(len(json.loads(self.rh("list").out)), 7)
        r = self.rh("store", store_json("p5.example.com", "new", "pw"))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertEqual(len(self.fake.state()["registries"]), 7)


class Hostile(KeyringCase):
    """A server that answers what no Rancher should: each must be one clear line, quickly."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = certs()
        cls.reply = None
        cls.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                cls.seen.append(self.path)
                body = json.dumps(cls.reply(self.path)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
        cls.server.socket = ctx.wrap_socket(cls.server.socket, server_side=True)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        super().tearDownClass()

    def setUp(self):
        self.seen.clear()

    def get(self, server):
        env = dict(self.env, CATTLE_URL="https://localhost:%d/v2-beta/projects/1a5"
                   % self.server.server_address[1], CATTLE_ACCESS_KEY="a", CATTLE_SECRET_KEY="s",
                   DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE=os.path.join(certs(), "ca.pem"))
        return run(env, "get", server)

    def collection(self, data, next_url=None):
        return {"type": "collection", "data": data, "pagination": {"next": next_url}}

    def test_endless_pagination_is_capped(self):
        type(self).reply = staticmethod(lambda path: self.collection(
            [], "https://localhost/v2-beta/projects/1a5/registries?marker=m%d" % len(self.seen)))
        r = self.get("endless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"more than 100 pages", r.err)
        self.assertEqual(len(self.seen), 100)

    def test_too_many_items_are_capped(self):
        # Pages of small items, each page well under the body limit: 100 of them held 3
        # million items, and the list grew by one element per item.
        def reply(path):
            page = len(self.seen)
            data = [{"type": "registry", "id": "1sp%d" % (page * 4000 + i)} for i in range(4000)]
            more = "https://localhost/v2-beta/projects/1a5/registries?marker=m%d" % page
            return self.collection(data, more if page < 3 else None)
        type(self).reply = staticmethod(reply)
        r = self.get("many.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertEqual(r.err, b"%s: Rancher at localhost:%d sent more than 10000 registries; "
                         b"giving up\n" % (PROG.encode(), self.server.server_address[1]), r)
        self.assertEqual(len(self.seen), 3)

    def test_next_link_to_another_host_stays_here(self):
        def reply(path):
            if "marker" in path:
                return self.collection([])
            return self.collection([], "https://evil.example.net:1/steal?marker=m2")
        type(self).reply = staticmethod(reply)
        r = self.get("next.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertEqual(self.seen, ["/v2-beta/projects/1a5/registries",
                                     "/v2-beta/projects/1a5/registries?marker=m2"])

    def test_wrong_types(self):
        cases = [({"type": "collection", "data": {"not": "a list"}}, b"not a collection"),
                 (self.collection([{"type": "registry", "id": 5}]), b"id is missing or of the wrong type"),
                 (self.collection([{"type": "registry", "id": "1sp1", "serverAddress": ["x"]}]),
                  b"serverAddress is missing or of the wrong type"),
                 (self.collection([{"type": "registry", "id": "../x"}]), b"malformed registry: id"),
                 ([1, 2], b"not a JSON object")]
        for body, why in cases:
            type(self).reply = staticmethod(lambda path, b=body: b)
            r = self.get("types.example.com")
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), (body, r))
            self.assertIn(why, r.err, body)
            self.assertEqual(r.err.count(b"\n"), 1)


def tearDownModule():
    if CERTS:
        shutil.rmtree(CERTS, ignore_errors=True)


if __name__ == "__main__":
    if not os.path.exists(BIN):
        sys.exit("no binary at %s (set DCK_BIN)" % BIN)
    unittest.main(verbosity=2)
