"""list against a real gnome-keyring: what a user sees after every kind of change, entries of the
reference helper alongside ours, several items for one server (the newest answers, for get and
list alike), items another program edited, locked collections, and concurrent writers.

The keyring's truth is read with secret-tool and tests/lib/minibus.py, independently of
the helper."""
import json
import queue
import subprocess
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

from common import KeyringSession, run, store_json
import minibus  # tests/lib, on the path common.py sets  # noqa: E402

OURS = "io.github.docker-credential-keyring"
LEGACY = "io.docker.Credentials"
SERVICE = ("org.freedesktop.secrets", "/org/freedesktop/secrets", "org.freedesktop.Secret.Service")
COLLECTION = "/org/freedesktop/secrets/collection/login"


def edit_attributes(env, path, changes):
    """Another program edits an item's attributes in place (Properties.Set), on one connection
    whose first call is a search: a property call as a fresh client's first, as one busctl
    each would make it, can abort gnome-keyring (the race in items_of)."""
    bus = minibus.Bus(env["DBUS_SESSION_BUS_ADDRESS"])
    item = ("org.freedesktop.secrets", path, "org.freedesktop.DBus.Properties")
    try:
        for _ in range(5):
            try:
                bus.call(*SERVICE, "SearchItems", "a{ss}", ({"xdg:schema": OURS},), "aoao")
                break
            except minibus.DBusError:
                continue
        (attrs,) = bus.call(*item, "Get", "ss", ("org.freedesktop.Secret.Item", "Attributes"), "v")
        attrs.update(changes)
        bus.call(*item, "Set", "ssv", ("org.freedesktop.Secret.Item", "Attributes", ("a{ss}", attrs)))
    finally:
        bus.close()


def items_of(env, schema):
    """{path: attributes} of every unlocked item of schema, read by one secret-tool process.

    Why not busctl per item: gnome-keyring registers a new client from an idle callback, and a
    client's first call can be handled before it (the upstream race behind gnome-keyring's
    "assertion 'client' failed" aborts and empty answers). One client for all items, whose first
    call is libsecret's, gives that race one chance instead of one per item."""
    # secret-tool prints each item's header on stdout and its attributes on stderr: unbuffered
    # into one pipe, they stay in order.
    p = subprocess.run(["stdbuf", "-o0", "-e0", "secret-tool", "search", "--all", "xdg:schema",
                        schema], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=20)
    out, cur = {}, None
    for line in p.stdout.splitlines():
        if line.startswith("[") and line.endswith("]"):
            cur = out.setdefault(COLLECTION + line[1:-1], {})
        elif cur is not None and line.startswith("attribute."):
            key, _, value = line[len("attribute."):].partition(" = ")
            cur[key] = value
    return out


def truth(env):
    """What list must show, read from every item: {server: username} of the newest item of each
    server (Modified, then the later path), ours and the reference's alike. One connection whose
    first call is a search (minibus.items): a property read as a fresh client's first call, as
    one busctl per item made it, can abort gnome-keyring (the race in items_of)."""
    items = []
    for schema in (OURS, LEGACY):
        found = minibus.items(env["DBUS_SESSION_BUS_ADDRESS"], {"xdg:schema": schema})
        for path, (a, modified) in found.items():
            if a.get("server"):
                items.append((a["server"], modified, len(path), path, a.get("username", "")))
    out = {}
    for server, _, _, _, username in sorted(items):
        out[server] = username  # the newest of each server comes last
    return out


def secret_tool(env, *args, stdin=None):
    subprocess.run(["secret-tool"] + list(args), env=env, input=stdin, check=True, timeout=20,
                   capture_output=True)


def legacy_store(env, server, username, secret):
    """An entry as docker-credential-secretservice writes it."""
    secret_tool(env, "store", "--label=Docker Credentials", "xdg:schema", LEGACY, "server", server,
                "username", username, "docker_cli", "1", stdin=secret.encode())




def our_store(env, server, username, secret, expires="0", origin="login"):
    """An item of ours written by another program (or by an interrupted store of ours)."""
    secret_tool(env, "store", "--label=Registry login for " + server, "xdg:schema", OURS, "server",
                server, "username", username, "origin", origin, "expires", expires,
                stdin=secret.encode())


class FreshKeyring(unittest.TestCase):
    def setUp(self):
        self.ks = KeyringSession().start()
        self.env = self.ks.env

    def tearDown(self):
        self.ks.stop()

    def store(self, server, username, secret="p"):
        r = run(self.env, "store", store_json(server, username, secret))
        self.assertEqual((r.rc, r.out), (0, b""), r)

    def listed(self):
        r = run(self.env, "list")
        self.assertEqual((r.rc, r.err), (0, b""), r)
        return json.loads(r.out)

    def assert_list(self, want):
        self.assertEqual(self.listed(), want)
        self.assertEqual(truth(self.env), want)

    def get_user(self, server):
        r = run(self.env, "get", server)
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)["Username"]


class Exact(FreshKeyring):
    def test_after_each_kind_of_change(self):
        self.assert_list({})
        self.store("a.example", "ua")
        self.store("b.example:5000", "ub")
        self.assert_list({"a.example": "ua", "b.example:5000": "ub"})
        self.store("a.example", "ua2")  # another username replaces the entry
        self.assert_list({"a.example": "ua2", "b.example:5000": "ub"})
        self.assertEqual(len(items_of(self.env, OURS)), 2)
        r = run(self.env, "erase", "b.example:5000")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assert_list({"a.example": "ua2"})
        r = run(self.env, "list")
        self.assertEqual(r.out, b'{"a.example":"ua2"}\n')

    def test_the_reference_helpers_entries_are_listed(self):
        legacy_store(self.env, "legacy.example", "lu", "lp")
        self.store("ours.example", "ou")
        self.assert_list({"legacy.example": "lu", "ours.example": "ou"})
        self.assertEqual(self.get_user("legacy.example"), "lu")


class Newest(FreshKeyring):
    """Several items for one server: an interrupted store, or a newer login by the reference
    helper. get and list both answer from the newest, and the next store leaves one item."""

    def test_an_interrupted_store_leaves_two_items_that_read_as_one(self):
        our_store(self.env, "dup.example", "old", "old-secret")
        our_store(self.env, "dup.example", "new", "new-secret")
        self.assertEqual(len(items_of(self.env, OURS)), 2)
        self.assert_list({"dup.example": "new"})
        self.assertEqual(self.get_user("dup.example"), "new")
        self.store("dup.example", "mine")
        self.assertEqual(len(items_of(self.env, OURS)), 1)
        self.assert_list({"dup.example": "mine"})

    def test_a_newer_login_by_the_reference_wins_over_ours(self):
        self.store("both.example", "ours")
        legacy_store(self.env, "both.example", "theirs", "their-secret")
        self.assert_list({"both.example": "theirs"})
        r = run(self.env, "get", "both.example")
        self.assertEqual(json.loads(r.out), {"ServerURL": "both.example", "Username": "theirs",
                                             "Secret": "their-secret"}, r)
        # And the other way round: our newer login wins over theirs.
        self.store("both.example", "ours-again")
        self.assertEqual(self.get_user("both.example"), "ours-again")
        self.assertEqual(self.listed(), {"both.example": "ours-again"})


class Edited(FreshKeyring):
    def test_list_shows_what_the_items_hold(self):
        self.store("edit.example", "before")
        self.assertEqual(self.listed(), {"edit.example": "before"})
        (path,) = items_of(self.env, OURS)
        edit_attributes(self.env, path, {"server": "edited.example", "username": "after"})
        self.assert_list({"edited.example": "after"})
        self.assertEqual(self.get_user("edited.example"), "after")


class Locked(FreshKeyring):
    def test_a_locked_collection_is_said_on_stderr(self):
        self.store("a.example", "ua")
        self.ks.restart_keyring(locked=True)
        r = run(self.env, "list")
        self.assertEqual((r.rc, r.out), (0, b"{}\n"), r)
        self.assertEqual(r.err, b"docker-credential-keyring: 1 locked keyring not listed: unlock it "
                                b"(see `docker-credential-keyring doctor`)\n")
        self.ks.restart_keyring(locked=False)
        self.assertEqual(self.listed(), {"a.example": "ua"})


class Concurrent(FreshKeyring):
    def test_parallel_store_erase_and_list_end_with_the_truth(self):
        want = {}
        for i in range(10):
            self.store("old%02d.example" % i, "u%d" % i)
            want["old%02d.example" % i] = "u%d" % i
        self.assert_list(want)
        for rnd in range(3):
            existing = sorted(want)
            jobs = []
            with ThreadPoolExecutor(max_workers=12) as pool:
                for i in range(8):
                    n = "r%dnew%02d.example" % (rnd, i)
                    jobs.append(pool.submit(run, self.env, "store", store_json(n, "n", "p")))
                    want[n] = "n"
                for n in existing[:4]:
                    jobs.append(pool.submit(run, self.env, "erase", n))
                    del want[n]
                for n in existing[-4:]:
                    jobs.append(pool.submit(run, self.env, "store", store_json(n, "v%d" % rnd, "p")))
                    want[n] = "v%d" % rnd
                lists = [pool.submit(run, self.env, "list") for _ in range(12)]
                for j in jobs:
                    r = j.result()
                    self.assertEqual((r.rc, r.out), (0, b""), r)
                for j in lists:
                    r = j.result()
                    self.assertEqual(r.rc, 0, r)
                    # Whatever moment it saw, a list shows only servers that some item held.
                    self.assertLessEqual(set(json.loads(r.out)), set(want) | set(existing), r)
            self.assert_list(want)
            self.assertEqual(len(items_of(self.env, OURS)), len(want))


if __name__ == "__main__":
    unittest.main(verbosity=2)
