"""list and its index (store/store_secret_index.c) against a real gnome-keyring: what a user sees
after every kind of change, the same number of D-Bus calls whatever the number of entries,
locked collections, and concurrent writers.

The keyring's truth is read item by item with busctl, independently of the helper."""
import json
import queue
import subprocess
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

from common import KeyringSession, run, store_json

OURS = "io.github.docker-credential-keyring"
LEGACY = "io.docker.Credentials"
INDEX = "io.github.docker-credential-keyring.list-index"
SERVICE = ("org.freedesktop.secrets", "/org/freedesktop/secrets", "org.freedesktop.Secret.Service")
COLLECTION = "/org/freedesktop/secrets/collection/login"


def busctl(env, *args):
    for _ in range(3):
        p = subprocess.run(["busctl", "--address=" + env["DBUS_SESSION_BUS_ADDRESS"], "--json=short"]
                           + list(args), capture_output=True, text=True, timeout=20)
        # gnome-keyring's client race (see dbus_quick.c): a fresh connection's first call can
        # run before the daemon has admitted the client, and then its handler declines, which
        # GDBus reports as "not implemented". Each busctl is a fresh connection: ask again.
        if "is not implemented on interface" not in p.stderr:
            break
    if p.returncode:
        raise AssertionError("busctl %s: %s" % (" ".join(args), p.stderr))
    return json.loads(p.stdout)["data"] if p.stdout.strip() else None


def search(env, **attrs):
    """(unlocked paths, locked paths) of the items with these attributes."""
    args = []
    for k, v in attrs.items():
        args += [k.replace("_", ":"), v]
    return tuple(busctl(env, "call", *SERVICE, "SearchItems", "a{ss}", str(len(attrs)), *args))


def attributes(env, path):
    return busctl(env, "get-property", "org.freedesktop.secrets", path, "org.freedesktop.Secret.Item",
                  "Attributes")


def set_attributes(env, path, attrs):
    args = []
    for k, v in attrs.items():
        args += [k, v]
    busctl(env, "set-property", "org.freedesktop.secrets", path, "org.freedesktop.Secret.Item",
           "Attributes", "a{ss}", str(len(attrs)), *args)


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
    """What list must show, read from every item: {server: username}, ours before legacy."""
    out = {}
    for schema in (OURS, LEGACY):
        for _, a in sorted(items_of(env, schema).items()):
            if a.get("server") and a["server"] not in out:
                out[a["server"]] = a.get("username", "")
    return out


def index_paths(env):
    return search(env, xdg_schema=INDEX)


def index_entries(env):
    """The single unlocked index item's entries {path: (server, username)}, or None."""
    unlocked, locked = index_paths(env)
    if len(unlocked) != 1 or locked:
        return None
    out = {}
    for k, v in attributes(env, unlocked[0]).items():
        if k.startswith("/") and v:
            f = [x.replace("%7C", "|").replace("%25", "%") for x in v.split("|")]
            out[k] = (f[0], f[1])
    return out


def secret_tool(env, *args, stdin=None):
    subprocess.run(["secret-tool"] + list(args), env=env, input=stdin, check=True, timeout=20,
                   capture_output=True)


def legacy_store(env, server, username, secret):
    """An entry as docker-credential-secretservice writes it."""
    secret_tool(env, "store", "--label=Docker Credentials", "xdg:schema", LEGACY, "server", server,
                "username", username, "docker_cli", "1", stdin=secret.encode())


class FreshKeyring(unittest.TestCase):
    """Each test gets its own private keyring, so every list is exact."""

    def setUp(self):
        self.ks = KeyringSession().start()
        self.env = self.ks.env

    def tearDown(self):
        self.ks.stop()

    def store(self, server, username, secret="pw"):
        r = run(self.env, "store", store_json(server, username, secret))
        self.assertEqual((r.rc, r.out), (0, b""), r)

    def erase(self, server):
        r = run(self.env, "erase", server)
        self.assertEqual((r.rc, r.out), (0, b""), r)

    def listed(self):
        r = run(self.env, "list")
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)

    def assert_list(self, want):
        """Twice: the first list may write the index, the second answers from it."""
        self.assertEqual(self.listed(), want)
        self.assertEqual(self.listed(), want)
        self.assertEqual(truth(self.env), want)

    def indexed_a_and_b(self):
        """Entries a.example (ua) and b.example (ub), listed once so that the index exists:
        the index's path and a's item path."""
        self.store("a.example", "ua")
        self.store("b.example", "ub")
        self.assert_list({"a.example": "ua", "b.example": "ub"})
        (index,), _ = index_paths(self.env)
        (pa,), _ = search(self.env, server="a.example")
        return index, pa

    def assert_index_matches_items(self):
        """No index entry contradicts the item at its path (the invariant that makes it safe)."""
        entries = index_entries(self.env)
        self.assertIsNotNone(entries)
        items = items_of(self.env, OURS)
        for path, (server, username) in entries.items():
            if path in items:
                a = items[path]
                self.assertEqual((server, username), (a["server"], a.get("username", "")), path)
        return entries


class Exact(FreshKeyring):
    def test_after_each_kind_of_change(self):
        self.store("a.example", "ua")
        self.store("b.example", "ub")
        self.store("c.example", "uc")
        self.assert_list({"a.example": "ua", "b.example": "ub", "c.example": "uc"})
        # The index exists and holds exactly our three items, so the lists below use it.
        self.assertEqual(sorted(s for s, _ in self.assert_index_matches_items().values()),
                         ["a.example", "b.example", "c.example"])

        self.store("b.example", "ub2")  # overwrite with another username
        self.assert_list({"a.example": "ua", "b.example": "ub2", "c.example": "uc"})
        self.erase("a.example")
        self.assert_list({"b.example": "ub2", "c.example": "uc"})
        secret_tool(self.env, "clear", "server", "c.example")  # behind our back
        self.assert_list({"b.example": "ub2"})
        legacy_store(self.env, "d.example", "ld", "pd")
        self.assert_list({"b.example": "ub2", "d.example": "ld"})
        legacy_store(self.env, "b.example", "lb", "pb")  # ours wins
        self.assert_list({"b.example": "ub2", "d.example": "ld"})
        self.store("token.example", "tok-en", "tok-en")  # the username is the secret: not shown
        weird = "we|ird%7C.example:5000/ü"
        self.store(weird, "us|er%25 ユーザー")
        want = {"b.example": "ub2", "d.example": "ld", "token.example": "",
                weird: "us|er%25 ユーザー"}
        self.assert_list(want)
        self.assertEqual(len(self.assert_index_matches_items()), 3)

    def test_a_reused_path_shows_the_new_entry(self):
        # gnome-keyring numbers the first item it creates after loading a collection count+1: once
        # the last item is deleted and the daemon restarts (a new login), the next item gets the
        # deleted one's path, which the index may still map to the deleted one's server.
        self.store("a.example", "ua")
        self.assert_list({"a.example": "ua"})  # the index is made now, after a
        self.store("b.example", "ub")
        (old,), _ = search(self.env, server="b.example")
        self.assertIn(old, index_entries(self.env))

        def reused(server):
            (new,), _ = search(self.env, server=server)
            self.assertEqual(new, old, "gnome-keyring did not reuse the path: this tests nothing")

        # Deleted behind our back, the index still says b.example; then a store.
        secret_tool(self.env, "clear", "server", "b.example")
        self.ks.restart_keyring()
        self.assertEqual(index_entries(self.env)[old], ("b.example", "ub"))
        self.store("c.example", "uc")
        reused("c.example")
        self.assert_list({"a.example": "ua", "c.example": "uc"})
        # Through erase.
        self.erase("c.example")
        self.ks.restart_keyring()
        self.store("d.example", "ud")
        reused("d.example")
        self.assert_list({"a.example": "ua", "d.example": "ud"})
        # Behind our back with a list in between (which drops the stale entry).
        secret_tool(self.env, "clear", "server", "d.example")
        self.assert_list({"a.example": "ua"})
        self.ks.restart_keyring()
        self.store("e.example", "ue")
        reused("e.example")
        self.assert_list({"a.example": "ua", "e.example": "ue"})
        self.assert_index_matches_items()

    def test_store_and_erase_keep_the_index_without_a_list(self):
        self.store("a.example", "ua")
        self.assertEqual(index_paths(self.env), ([], []))  # only list makes one
        self.assert_list({"a.example": "ua"})
        (index,), _ = index_paths(self.env)
        gen = attributes(self.env, index)["generation"]
        self.store("b.example", "ub")
        self.store("a.example", "ua2")
        self.assertEqual(sorted(index_entries(self.env).values()),
                         [("a.example", "ua2"), ("b.example", "ub")])
        self.erase("b.example")
        self.assertEqual(list(index_entries(self.env).values()), [("a.example", "ua2")])
        self.assertNotEqual(attributes(self.env, index)["generation"], gen)
        self.assert_index_matches_items()
        self.assert_list({"a.example": "ua2"})

    def test_a_broken_index_is_no_index_and_is_replaced(self):
        index, pa = self.indexed_a_and_b()
        broken = [
            {"xdg:schema": INDEX, "version": "2", "generation": "1", pa: "forged.example|x|login|0|0"},
            {"xdg:schema": INDEX, "version": "1", "generation": "1", pa: "forged.example|x|login|0"},
            {"xdg:schema": INDEX, "version": "1", "generation": "1", pa: "forged%zz|x|login|0|0"},
            {"xdg:schema": INDEX, "version": "1", pa: "forged.example|x|login|0|0"},
            {"xdg:schema": INDEX, "version": "1", "generation": "1",
             pa: "forged.example|" + "x" * 70000 + "|login|0|0"},
        ]
        for attrs in broken:
            set_attributes(self.env, index, attrs)
            self.assertEqual(self.listed(), {"a.example": "ua", "b.example": "ub"})  # never forged
            self.assertEqual(index_paths(self.env), ([index], []))
            self.assertEqual(sorted(self.assert_index_matches_items().values()),
                             [("a.example", "ua"), ("b.example", "ub")])
        # A store or erase facing a broken index deletes it; the next list makes a new one.
        set_attributes(self.env, index, broken[0])
        self.store("c.example", "uc")
        self.assertEqual(index_paths(self.env), ([], []))
        self.assert_list({"a.example": "ua", "b.example": "ub", "c.example": "uc"})
        self.assertEqual(len(self.assert_index_matches_items()), 3)

    def test_several_indexes_become_one(self):
        self.store("a.example", "ua")
        self.assert_list({"a.example": "ua"})
        (index,), _ = index_paths(self.env)
        content = attributes(self.env, index)
        args = []
        for k, v in content.items():
            args += [k, v]
        # secret-tool replaces an item with the same attributes: make the copies differ.
        secret_tool(self.env, "store", "--label=copy", *(args + ["copy", "1"]), stdin=b"x")
        self.assertEqual(len(index_paths(self.env)[0]), 2)
        self.store("b.example", "ub")
        self.assertEqual(index_paths(self.env), ([], []))  # store deleted both
        secret_tool(self.env, "store", "--label=copy", *(args + ["copy", "1"]), stdin=b"x")
        secret_tool(self.env, "store", "--label=copy", *(args + ["copy", "2"]), stdin=b"x")
        self.assert_list({"a.example": "ua", "b.example": "ub"})
        self.assertEqual(len(index_paths(self.env)[0]), 1)  # list replaced them with one
        self.assert_index_matches_items()


class Monitor:
    """Method calls to the Secret Service while a command runs, from dbus-monitor on the private
    bus (its configuration allows eavesdropping)."""

    def __init__(self, env):
        self.env = env
        owner = subprocess.run(
            ["dbus-send", "--session", "--print-reply=literal", "--dest=org.freedesktop.DBus",
             "/org/freedesktop/DBus", "org.freedesktop.DBus.GetNameOwner",
             "string:org.freedesktop.secrets"], env=env, capture_output=True, text=True, check=True)
        self.names = {"org.freedesktop.secrets", owner.stdout.strip()}

    def _marker(self, name):
        subprocess.run(["dbus-send", "--session", "--type=signal", "/marker/" + name,
                        "test.Marker.M"], env=self.env, check=True)

    def _until(self, lines, name, timeout):
        """The lines before the marker called name; None when it did not come within timeout."""
        seen = []
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                return None
            if line is None:
                raise AssertionError("dbus-monitor ended")
            if "/marker/" + name in line:
                return seen
            seen.append(line)

    def calls(self, verb, stdin=b""):
        """(result, [(path, interface, member), ...]) of the calls to the Secret Service."""
        proc = subprocess.Popen(["dbus-monitor", "--address", self.env["DBUS_SESSION_BUS_ADDRESS"],
                                 "--profile"], stdout=subprocess.PIPE, text=True)
        lines = queue.Queue()

        def reader():
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            # Markers make sure the monitor sees everything from before the command to after it:
            # repeat the first until the monitor shows it.
            for attempt in range(50):
                self._marker("start%d" % attempt)
                if self._until(lines, "start%d" % attempt, 0.2) is not None:
                    break
            else:
                raise AssertionError("dbus-monitor never started")
            result = run(self.env, verb, stdin)
            self._marker("end")
            seen = self._until(lines, "end", 20)
        finally:
            proc.terminate()
            proc.wait(10)
            thread.join(10)
            proc.stdout.close()
        calls = []
        for line in seen or []:
            f = line.rstrip("\n").split("\t")
            if f[0] == "mc" and len(f) > 7 and f[4] in self.names:
                calls.append((f[5], f[6], f[7]))
        return result, calls


class RoundTrips(FreshKeyring):
    def fill(self, names):
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(
                lambda n: run(self.env, "store", store_json(n, "u-" + n, "p")), names))
        self.assertTrue(all(r.rc == 0 for r in results), results)

    def steady_list_calls(self, count):
        names = ["rt%03d.example" % i for i in range(count)]
        self.fill([n for n in names if n not in self.listed()])
        self.listed()  # writes the index when it lacks something
        r, calls = Monitor(self.env).calls("list")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out), {n: "u-" + n for n in names})
        members = [c[2] for c in calls]
        for forbidden in ("GetSecret", "GetSecrets", "OpenSession", "CreateItem", "Set", "Delete",
                          "Unlock"):
            self.assertNotIn(forbidden, members, calls)
        # The only item read is the index.
        self.assertEqual([c for c in calls if c[2] == "Get"],
                         [(index_paths(self.env)[0][0], "org.freedesktop.DBus.Properties", "Get")])
        return calls

    def test_list_makes_the_same_calls_for_10_and_60_entries(self):
        ten = self.steady_list_calls(10)
        sixty = self.steady_list_calls(60)
        self.assertEqual(len(ten), len(sixty), (ten, sixty))
        self.assertLessEqual(len(sixty), 6, sixty)

    def test_legacy_and_missing_items_are_read_one_by_one(self):
        # The control for the test above: what is not indexed costs a call per item.
        self.fill(["rt%03d.example" % i for i in range(5)])
        for i in range(3):
            legacy_store(self.env, "legacy%d.example" % i, "l", "p")
        self.listed()
        r, calls = Monitor(self.env).calls("list")
        self.assertEqual(len(json.loads(r.out)), 8)
        self.assertEqual(len([c for c in calls if c[2] == "Get"]), 1 + 3)


class Locked(FreshKeyring):
    def test_a_locked_collection_never_shows_the_index(self):
        index, pa = self.indexed_a_and_b()
        # Forge the index: a's path now says forged.example.
        content = attributes(self.env, index)
        content[pa] = "forged.example|x|login|0|0"
        set_attributes(self.env, index, content)

        # Locked while the daemon runs: gnome-keyring still shows the items' attributes, and list
        # answers from them as before, not from the index.
        busctl(self.env, "call", *SERVICE, "Lock", "ao", "1", COLLECTION)
        self.assertEqual(search(self.env, xdg_schema=INDEX), ([], [index]))
        self.assertEqual(self.listed(), {"a.example": "ua", "b.example": "ub"})
        self.assertEqual(attributes(self.env, index)[pa], "forged.example|x|login|0|0")  # untouched

        # Locked since the daemon started (no password): nothing shows, as before the index.
        self.ks.restart_keyring(locked=True)
        r = run(self.env, "list")
        self.assertEqual((r.rc, r.out), (0, b"{}\n"), r)

        # The control: unlocked, the forged index is what list trusts, so the cases above would
        # have shown forged.example had they read it.
        self.ks.restart_keyring(locked=False)
        self.assertEqual(self.listed(), {"forged.example": "x", "b.example": "ub"})


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
                    self.assertEqual(j.result().rc, 0, j.result())
            self.assert_list(want)
            self.assert_index_matches_items()


if __name__ == "__main__":
    unittest.main(verbosity=2)
