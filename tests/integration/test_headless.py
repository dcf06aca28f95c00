"""Headless machines: no session bus, a bus without a Secret Service, a Secret Service that never
answers, a locked collection, a daemon that dies. get must answer the not-found text within 2 s
and say why on stderr; store must fail with one clear line; nothing may hang or prompt."""
import json
import os
import time
import unittest

from common import NOT_FOUND, KeyringSession, no_bus_env, run, store_json

STORE = store_json("headless.example.com", "u", "p")



class NoBus(unittest.TestCase):
    """No session bus at all (a server, a CI runner): logins live in the kernel keyring."""

    def test_every_verb_works_in_the_kernel_keyring(self):
        env = no_bus_env()
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out, r.err), (1, NOT_FOUND, b""), r)
        self.assertLess(r.seconds, 2)
        r = run(env, "store", STORE)
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (0, b'{"ServerURL":"headless.example.com","Username":"u",'
                                            b'"Secret":"p"}\n'), r)
        r = run(env, "list")
        self.assertEqual((r.rc, r.out), (0, b'{"headless.example.com":"u"}\n'), r)
        r = run(env, "erase", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (0, b""), r)
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)

    def test_forcing_the_secret_service_without_a_bus_fails_clearly(self):
        env = dict(no_bus_env(), DOCKER_CREDENTIAL_KEYRING_STORE="secret-service")
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"no D-Bus session bus", r.err)
        r = run(env, "store", STORE)
        self.assertEqual((r.rc, r.out), (1, b"no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not "
                                            b"set and $XDG_RUNTIME_DIR/bus does not exist\n"), r)
        r = run(env, "list")
        self.assertEqual((r.rc, r.out), (0, b"{}\n"))
        self.assertIn(b"no D-Bus session bus", r.err)
        r = run(env, "erase", b"headless.example.com")
        self.assertEqual((r.rc, r.out.count(b"\n")), (1, 1), r)

    def test_a_bad_store_setting_is_named(self):
        env = dict(no_bus_env(), DOCKER_CREDENTIAL_KEYRING_STORE="memory")
        r = run(env, "store", STORE)
        self.assertEqual((r.rc, r.out), (1, b'DOCKER_CREDENTIAL_KEYRING_STORE: "memory" is not auto, '
                                            b'secret-service or kernel\n'), r)

    def test_dead_bus_address(self):
        env = no_bus_env()
        env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/bus"
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
        self.assertLess(r.seconds, 2)
        self.assertNotEqual(r.err, b"")

    def test_never_autolaunches_through_x11(self):
        env = no_bus_env()
        env["DISPLAY"] = ":99"  # an X display that does not exist: autolaunch would try it
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
        self.assertNotIn(b"X11", r.err)
        self.assertLess(r.seconds, 2)

    def test_finds_the_bus_in_xdg_runtime_dir(self):
        with KeyringSession() as ks:
            env = dict(ks.env)
            del env["DBUS_SESSION_BUS_ADDRESS"]  # the bus socket is $XDG_RUNTIME_DIR/bus
            self.assertEqual(run(env, "store", STORE).rc, 0)
            r = run(env, "get", b"headless.example.com")
            self.assertEqual(json.loads(r.out)["Secret"], "p")


class NoSecretService(unittest.TestCase):
    def test_bus_without_a_secret_service(self):
        with KeyringSession(with_keyring=False) as ks:
            r = run(ks.env, "get", b"headless.example.com")
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
            self.assertIn(b"no Secret Service on the session bus", r.err)
            self.assertLess(r.seconds, 2)
            r = run(ks.env, "store", STORE)
            self.assertEqual(r.rc, 1)
            self.assertIn(b"no Secret Service on the session bus", r.out)
            self.assertEqual(r.out.count(b"\n"), 1)


class FrozenSecretService(unittest.TestCase):
    """The daemon holds its bus name but never answers (a hung keyring)."""

    def setUp(self):
        self.ks = KeyringSession().start()
        self.assertEqual(run(self.ks.env, "store", STORE).rc, 0)
        self.ks.freeze_keyring()

    def tearDown(self):
        self.ks.thaw_keyring()
        self.ks.stop()

    def test_get_answers_within_the_deadline(self):
        env = dict(self.ks.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="1s")
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
        self.assertIn(b"did not answer within 1000 ms", r.err)
        self.assertLess(r.seconds, 2)

    def test_default_deadline_is_a_few_seconds(self):
        r = run(self.ks.env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
        self.assertLess(r.seconds, 4)

    def test_store_and_list_are_bounded_too(self):
        env = dict(self.ks.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="500ms")
        r = run(env, "store", STORE)
        self.assertEqual(r.rc, 1)
        self.assertIn(b"did not answer within 500 ms", r.out)
        r = run(env, "list")
        self.assertEqual((r.rc, r.out), (0, b"{}\n"))
        self.assertLess(r.seconds, 2)

    def test_bad_timeout_setting_is_named(self):
        env = dict(self.ks.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="soon")
        r = run(env, "store", STORE)
        self.assertEqual((r.rc, r.out), (1, b'DOCKER_CREDENTIAL_KEYRING_TIMEOUT: "soon" is not a duration '
                                             b'(examples: 3, 2.5s, 500ms, 5m)\n'))


class Locked(unittest.TestCase):
    """gnome-keyring started with the wrong password: the login collection stays locked."""

    @classmethod
    def setUpClass(cls):
        cls.ks = KeyringSession().start()
        assert run(cls.ks.env, "store", STORE).rc == 0
        cls.ks.restart_keyring(locked=True)

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()

    def test_get_is_a_miss_that_says_locked(self):
        r = run(self.ks.env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
        self.assertIn(b"locked", r.err)
        self.assertLess(r.seconds, 2)

    def test_no_prompt_even_with_a_display(self):
        # A display is set but prompts are off: still no prompt, still quick.
        env = dict(self.ks.env, DISPLAY=":99", DOCKER_CREDENTIAL_KEYRING_PROMPT="false")
        r = run(env, "get", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
        self.assertLess(r.seconds, 2)

    def test_store_fails_clearly(self):
        r = run(self.ks.env, "store", store_json("other.example.com", "u", "p"))
        self.assertEqual((r.rc, r.out), (1, b"cannot store in the keyring: the keyring is locked "
                                            b"(see `docker-credential-keyring doctor`)\n"))

    def test_erase_refuses_rather_than_guess(self):
        r = run(self.ks.env, "erase", b"headless.example.com")
        self.assertEqual((r.rc, r.out), (1, b"cannot remove the entry for headless.example.com: the "
                                            b"keyring is locked (see `docker-credential-keyring "
                                            b"doctor`)\n"))

    def test_list_does_not_prompt(self):
        r = run(self.ks.env, "list")
        self.assertEqual(r.rc, 0)
        self.assertNotIn(b"account not defined", r.out)  # the reference's answer here
        self.assertLess(r.seconds, 2)


SHIM = b"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
/* The Secret Service plugin cannot be loaded, as on a host where libsecret-1-0 (which it links)
 * is not installed. */
void *dlopen(const char *file, int flags)
{
	void *(*real)(const char *, int) = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");

	return file && strstr(file, "secret-service.so") ? NULL : real(file, flags);
}
"""


class NoLibsecret(unittest.TestCase):
    """libsecret comes with the Secret Service plugin, loaded on first need (store/base/plugin.h);
    where it cannot be loaded, reads still work over the bus socket and every write answers by
    the protocol: one line and exit 1, never an abort."""

    @classmethod
    def setUpClass(cls):
        import subprocess
        import tempfile
        cls.dir = tempfile.mkdtemp(prefix="dck-shim-")
        src = os.path.join(cls.dir, "shim.c")
        cls.shim = os.path.join(cls.dir, "shim.so")
        with open(src, "wb") as f:
            f.write(SHIM)
        import shutil
        if shutil.which("cc") is None:
            raise unittest.SkipTest("no C compiler (cc) for the dlopen shim")
        cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", cls.shim, src, "-ldl"],
                            stderr=subprocess.PIPE)
        if cc.returncode != 0:  # a compiler that fails is a broken test, not a skipped one
            raise AssertionError("the dlopen shim does not compile: %s"
                                 % cc.stderr.decode(errors="replace"))

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_every_verb_answers_without_libsecret(self):
        with KeyringSession() as ks:
            env = dict(ks.env)
            self.assertEqual(run(env, "store", STORE).rc, 0)
            # The ASan build's runtime must come first otherwise; the shim only wraps dlopen.
            env.update(LD_PRELOAD=self.shim, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0")
            r = run(env, "get", b"headless.example.com")  # read without libsecret
            self.assertEqual((r.rc, json.loads(r.out)["Secret"]), (0, "p"), r)
            r = run(env, "get", b"nothing-here.example.com")
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
            for verb, stdin in (("store", STORE), ("erase", b"headless.example.com")):
                r = run(env, verb, stdin)
                self.assertEqual(r.rc, 1, r)
                self.assertEqual(r.out.count(b"\n"), 1, r)
                self.assertIn(b"install libsecret-1-0", r.out)
            r = run(env, "list")
            self.assertEqual((r.rc, r.out), (0, b'{"headless.example.com":"u"}\n'), r)


class DaemonDies(unittest.TestCase):
    def test_daemon_killed_between_calls_loses_nothing(self):
        with KeyringSession() as ks:
            self.assertEqual(run(ks.env, "store", STORE).rc, 0)
            ks.kill_keyring()
            r = run(ks.env, "get", b"headless.example.com")
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND))
            self.assertLess(r.seconds, 2)
            ks.restart_keyring()
            r = run(ks.env, "get", b"headless.example.com")
            self.assertEqual(json.loads(r.out)["Secret"], "p", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
