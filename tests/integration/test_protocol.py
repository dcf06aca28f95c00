"""The protocol as clients see it: exact stdout, exit status, for every verb and error
(../shared/docs/protocol.md), through the real binary and a real gnome-keyring."""
import json
import os
import unittest

from common import BIN, NOT_FOUND, KeyringCase, forget_kernel_keyring, no_bus_env, run, store_json


class Invocation(KeyringCase):
    def test_no_argument_prints_usage(self):
        r = run(self.env, None, args=[])
        self.assertEqual((r.rc, r.out), (1, b"Usage: docker-credential-keyring <store|get|erase|list|version>\n"))

    def test_two_arguments_print_usage(self):
        r = run(self.env, None, args=["get", "extra"])
        self.assertEqual((r.rc, r.out), (1, b"Usage: docker-credential-keyring <store|get|erase|list|version>\n"))

    def test_unknown_action(self):
        r = run(self.env, "fetch")
        self.assertEqual((r.rc, r.out), (1, b"docker-credential-keyring: unknown action: fetch\n"))

    def test_version_and_flags(self):
        for arg in ("version", "--version", "-v"):
            r = run(self.env, arg)
            self.assertEqual(r.rc, 0, r)
            self.assertRegex(r.out.decode(), r"^docker-credential-keyring \(docker-credential-keyring\) "
                             r"v\d+\.\d+\.\d+( \(commit [0-9a-f]{12,}(-dirty)?\))?\n$")
        for arg in ("--help", "-h"):
            r = run(self.env, arg)
            self.assertEqual(r.rc, 0, r)
            self.assertTrue(r.out.startswith(b"Usage: docker-credential-keyring <store|get|erase|list|version>\n"), r)

    def test_program_name_follows_argv0(self):
        link = os.path.join(self.ks.dir, "docker-credential-other")
        os.symlink(BIN, link)
        import subprocess
        p = subprocess.run([link, "nope"], env=self.env, capture_output=True)
        self.assertEqual(p.stdout, b"docker-credential-other: unknown action: nope\n")


class Verbs(KeyringCase):
    def test_round_trip(self):
        self.store("round.example.com", "alice", "s3cret")
        self.get_ok("round.example.com", "alice", "s3cret")
        r = self.run_helper("list", b"unused")
        self.assertEqual(json.loads(r.out)["round.example.com"], "alice")
        r = self.run_helper("erase", b"round.example.com")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""))
        self.assert_miss("round.example.com")
        self.assertNotIn("round.example.com", json.loads(self.run_helper("list").out))

    def test_get_output_is_exact(self):
        self.store("exact.example.com:5000", "bob", "pw")
        r = self.run_helper("get", b"exact.example.com:5000")
        self.assertEqual(r.out, b'{"ServerURL":"exact.example.com:5000","Username":"bob","Secret":"pw"}\n')
        self.assertEqual((r.rc, r.err), (0, b""))

    def test_get_trims_white_space(self):
        self.store("trim.example.com", "u", "p")
        self.get_ok("trim.example.com", "u", "p")
        r = self.run_helper("get", b"  trim.example.com\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out)["Secret"], "p")

    def test_a_server_get_could_never_find_is_refused(self):
        # get trims what it reads, so "x " stored would be an entry no get reaches.
        for server in ("pad.example.com ", " pad.example.com"):
            r = self.run_helper("store", store_json(server, "u", "p"))
            self.assertEqual((r.rc, r.out), (1, b"invalid server URL: it begins or ends with a "
                                                b"space\n"), server)
        self.assert_miss("pad.example.com")

    def test_miss_is_byte_exact_and_quiet(self):
        r = self.assert_miss("never-stored.example.com")
        self.assertEqual(r.err, b"")

    def test_empty_server(self):
        for verb in ("get", "erase"):
            r = self.run_helper(verb, b"")
            self.assertEqual((r.rc, r.out), (1, b"no credentials server URL\n"), verb)
        r = self.run_helper("store", store_json("", "u", "p"))
        self.assertEqual((r.rc, r.out), (1, b"no credentials server URL\n"))

    def test_empty_username(self):
        r = self.run_helper("store", store_json("h.example.com", "", "p"))
        self.assertEqual((r.rc, r.out), (1, b"no credentials username\n"))
        self.assert_miss("h.example.com")

    def test_bad_json_is_one_line_and_stores_nothing(self):
        for bad in (b"{bad", b"", b"[]", b'{"ServerURL":"bad.example.com","Username":1}', b"\xff\xfe"):
            r = self.run_helper("store", bad)
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(r.out.count(b"\n"), 1, r)
            self.assertTrue(r.out.startswith(b"invalid credentials JSON") or r.out == b"no credentials server URL\n", r)
        self.assert_miss("bad.example.com")

    def test_keys_in_any_case_unknown_keys_pretty(self):
        doc = b'{\n  "serverurl": "case.example.com",\n  "USERNAME": "carol",\n  "SeCrEt": "x",\n  "Extra": [1, {"a": null}]\n}\n'
        r = self.run_helper("store", doc)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.get_ok("case.example.com", "carol", "x")

    def test_empty_secret_is_accepted(self):
        self.store("empty.example.com", "u", "")
        self.get_ok("empty.example.com", "u", "")

    def test_identity_token_round_trips(self):
        self.store("https://index.docker.io/v1/", "<token>", "eyJhbGciOi.identity.token")
        self.get_ok("https://index.docker.io/v1/", "<token>", "eyJhbGciOi.identity.token")

    def test_secret_bytes_survive_exactly(self):
        secret = 'p"a\\s\ns\t\u0000w\u00e9\u4e2d\U0001F600\u2028 <>&'
        self.store("bytes.example.com", "u", secret)
        r = self.run_helper("get", b"bytes.example.com")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out), {"ServerURL": "bytes.example.com", "Username": "u", "Secret": secret})

    def test_one_mebibyte_secret(self):
        secret = ("0123456789abcdef" * 65536)
        self.store("big.example.com", "u", secret)
        r = self.run_helper("get", b"big.example.com")
        self.assertEqual(r.rc, 0)
        self.assertEqual(json.loads(r.out)["Secret"], secret)

    def test_too_large_input_is_refused(self):
        doc = store_json("huge.example.com", "u", "x" * (9 * 1024 * 1024)).encode()
        r = self.run_helper("store", doc)
        self.assertEqual((r.rc, r.out), (1, b"input is larger than the limit of 8388608 bytes\n"))
        self.assert_miss("huge.example.com")

    def test_new_username_replaces_old_entry(self):
        self.store("replace.example.com", "first", "one")
        self.store("replace.example.com", "second", "two")
        for _ in range(3):
            self.get_ok("replace.example.com", "second", "two")
        self.assertEqual(json.loads(self.run_helper("list").out)["replace.example.com"], "second")
        self.run_helper("erase", b"replace.example.com")
        self.assert_miss("replace.example.com")

    def test_keys_are_exact(self):
        self.store("exactkey.example.com", "u", "p")
        for near in ("exactkey.example.com/", "https://exactkey.example.com", "EXACTKEY.example.com",
                     "exactkey.example", "exactkey.example.com:443"):
            self.assert_miss(near)
        self.store("https://index.docker.io/v1/", "hub", "p1")
        self.store("https://index.docker.io/v1/access-token", "hub", "p2")
        self.get_ok("https://index.docker.io/v1/", "hub", "p1")
        self.get_ok("https://index.docker.io/v1/access-token", "hub", "p2")

    def test_erase_of_missing_entry_is_silent_success(self):
        r = self.run_helper("erase", b"nothing.example.com")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""))

    def test_list_keys_work_with_get_and_erase(self):
        names = ["list-a.example.com", "list-b.example.com:5000", "https://index.docker.io/v1/refresh-token", "list weird ☃ \"q\""]
        for i, n in enumerate(names):
            self.store(n, "user%d" % i, "secret%d" % i)
        listed = json.loads(self.run_helper("list", b"unused").out)
        for i, n in enumerate(names):
            self.assertEqual(listed[n], "user%d" % i)
            self.get_ok(n, "user%d" % i, "secret%d" % i)
            self.assertEqual(self.run_helper("erase", n.encode()).rc, 0)
            self.assert_miss(n)


class BrokenSettings(KeyringCase):
    """A broken setting says what is wrong, and never turns a pull into a hard failure."""

    def test_broken_config_file(self):
        path = os.path.join(self.ks.dir, "broken.conf")
        with open(path, "w") as f:
            f.write("timeout = 3s\nthis is not a setting\n")
        env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
        r = run(env, "get", b"any.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(("%s:2: expected `key = value`" % path).encode(), r.err)
        r = run(env, "store", store_json("any.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out), (1, ("%s:2: expected `key = value`\n" % path).encode()))

    def test_a_fifo_as_config_file_blocks_nothing(self):
        # open() waited for a writer: every verb hung.
        path = os.path.join(self.ks.dir, "fifo.conf")
        os.mkfifo(path)
        env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
        r = run(env, "get", b"any.example.com", timeout=10)
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(("cannot read %s: not a regular file" % path).encode(), r.err)
        self.assertLess(r.seconds, 5, r)

    def test_broken_source_setting_spares_other_registries(self):
        self.store("spared.example.com", "u", "p")
        env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="soon")
        r = run(env, "get", b"spared.example.com")
        self.assertEqual(json.loads(r.out)["Secret"], "p", r)
        self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY", r.err)
        self.assertIn(b"going on without it", r.err)
        r = run(env, "store", store_json("spared.example.com", "u", "q"))
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY", r.out)
        self.get_ok("spared.example.com", "u", "p")


class EmptyList(KeyringCase):
    def test_empty_list_is_braces(self):
        for stdin in (b"", b"unused"):
            r = self.run_helper("list", stdin)
            self.assertEqual((r.rc, r.out, r.err), (0, b"{}\n", b""))


class KernelKeyring:
    """The same suites on a machine with no session bus: the kernel keyring is the store."""

    @classmethod
    def setUpClass(cls):
        cls.env = no_bus_env()
        cls.ks = type("NoSession", (), {"dir": __import__("tempfile").mkdtemp(prefix="dck-nobus-")})()

    @classmethod
    def tearDownClass(cls):
        forget_kernel_keyring(cls.env["DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING"])
        __import__("shutil").rmtree(cls.ks.dir, ignore_errors=True)


class VerbsOnTheKernelKeyring(KernelKeyring, Verbs):
    def test_one_mebibyte_secret(self):
        # The kernel keeps at most 32767 bytes per key: a larger login is refused in one line
        # that says so, and nothing is half stored. The largest that fits round-trips.
        r = self.run_helper("store", store_json("big.example.com", "u", "x" * (1 << 20)))
        self.assertEqual((r.rc, r.out), (1, b"the entry for big.example.com is too large for the "
                                            b"kernel keyring (1048633 bytes, at most 32767)\n"), r)
        self.assert_miss("big.example.com")
        self.store("big.example.com", "u", "y" * 32000)
        self.get_ok("big.example.com", "u", "y" * 32000)

    def test_a_username_that_is_the_secret_is_never_listed(self):
        # DigitalOcean's older "token:token": as in the Secret Service, list shows no token.
        token = "dop_v1_username-and-password"
        self.store("tokentoken.example.com", token, token)
        self.get_ok("tokentoken.example.com", token, token)
        r = self.run_helper("list")
        self.assertEqual(json.loads(r.out).get("tokentoken.example.com"), "", r)
        self.assertNotIn(token.encode(), r.out + r.err)


class EmptyListOnTheKernelKeyring(KernelKeyring, EmptyList):
    pass


if __name__ == "__main__":
    unittest.main(verbosity=2)
