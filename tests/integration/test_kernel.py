#!/usr/bin/env python3
"""The kernel keyring (store/kernel/kernel_store.h) through the real binary: where a source's
copy goes when the Secret Service cannot keep it, what every verb answers where the kernel
refuses keyctl, and that the helper never fills a user's kernel key quota.

(The protocol suite also runs on the kernel keyring as the store of a machine without a session
bus: test_protocol.py, *OnTheKernelKeyring.)"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import test_digitalocean as do
from common import (NOT_FOUND, copy_for_anyone, forget_kernel_keyring, keyctl_works, no_bus_env,
                    run, store_json)

HOST = do.HOST
KEYCTL_NR = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine, 250)

# keyctl(2) and add_key(2) refused, as a container's seccomp profile does (docker's default):
# the helper makes these calls through libc's syscall(), which this replaces.
SECCOMP_SHIM = b"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

long syscall(long nr, ...)
{
	register long r10 __asm__("r10"), r8 __asm__("r8"), r9 __asm__("r9");
	long a[6], ret;
	va_list ap;
	int i;

	if (nr == SYS_keyctl || nr == SYS_add_key || nr == SYS_request_key) {
		errno = EPERM;
		return -1;
	}
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	r10 = a[3], r8 = a[4], r9 = a[5];
	__asm__ volatile ("syscall" : "=a"(ret) : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]),
			  "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
"""


def setUpModule():
    do.setUpModule()


def tearDownModule():
    do.tearDownModule()


@unittest.skipUnless(keyctl_works(), "no kernel keyrings here")
class CopiesWhenTheKeyringIsLocked(do.DoCase):
    """A locked keyring (no prompt here) cannot keep a source's copy: it waits in the kernel
    keyring until its refresh point, so a runner pulling all day mints one token per lifetime."""

    locked = True

    def setUp(self):
        run(self.env, "erase", HOST)  # the keyring refuses; the kernel copy goes
        self.fake.reset()

    def test_gets_mint_one_token(self):
        minted_before = len(self.fake.minted())
        # (cache-ttl 0 turned off the 60 s cache older versions kept copies in instead.)
        answers = [self.get(DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="0") for _ in range(3)]
        minted = self.fake.minted()[minted_before:]
        self.assertEqual(len(minted), 1, [r.err for r in answers])
        want = do.answer(HOST, minted[0]["username"], minted[0]["password"])
        self.assertEqual([(r.rc, r.out) for r in answers], [(0, want)] * 3)
        self.assertEqual(len(self.fake.api_requests()), 1)

    def test_erase_removes_the_kernel_copy_and_revokes_it(self):
        self.get()
        password = self.fake.minted()[-1]["password"]
        r = run(self.env, "erase", HOST)
        # Nothing of this host is in the locked keyring; the copy was in the kernel's: gone.
        self.assertEqual((r.rc, r.out), (0, b""), r)
        revokes = self.fake.api_requests("/v1/oauth/revoke")
        self.assertEqual([x["body"] for x in revokes], ["token=" + password])
        self.fake.reset()
        r = self.get()
        self.assertEqual(r.rc, 0, r)
        self.assertNotEqual(self.fake.minted()[-1]["password"], password)


def nobody_bytes():
    """The bytes nobody's kernel keys take, from /proc/key-users."""
    with open("/proc/key-users") as f:
        for line in f:
            uid, rest = line.split(":", 1)
            if int(uid) == 65534:
                return int(rest.split()[3].split("/")[0])
    return 0


def build_shim(tmp, source):
    src = os.path.join(tmp, "shim.c")
    so = os.path.join(tmp, "shim.so")
    with open(src, "wb") as f:
        f.write(source)
    if shutil.which("cc") is None:
        raise unittest.SkipTest("no C compiler (cc) for the shim")
    cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", so, src], stderr=subprocess.PIPE)
    if cc.returncode != 0:  # a compiler that fails is a broken test, not a skipped one
        raise AssertionError("the shim does not compile: %s" % cc.stderr.decode(errors="replace"))
    return so


@unittest.skipUnless(os.uname().machine == "x86_64", "the shim's raw system call is x86-64's")
class KeyctlRefused(unittest.TestCase):
    """A container whose seccomp profile refuses keyctl, and no session bus: every verb still
    answers by the protocol, with the reason on stderr."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="dck-seccomp-")
        cls.shim = build_shim(cls.dir, SECCOMP_SHIM)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_every_verb_answers_with_the_reason(self):
        env = dict(no_bus_env(), LD_PRELOAD=self.shim,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        r = run(env, "get", b"refused.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"the kernel keyring cannot be used here", r.err)
        r = run(env, "store", store_json("refused.example.com", "u", "p"))
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out.count(b"\n"), 1, r)
        self.assertIn(b"the kernel keyring cannot be used here", r.out)
        r = run(env, "list")
        self.assertEqual((r.rc, r.out), (0, b"{}\n"), r)
        self.assertIn(b"the kernel keyring cannot be used here", r.err)
        r = run(env, "erase", b"refused.example.com")
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"the kernel keyring cannot be used here", r.out)


@unittest.skipUnless(keyctl_works(), "no kernel keyrings here")
@unittest.skipUnless(os.geteuid() == 0, "runs the helper as another user, whose quota is small")
class Quota(unittest.TestCase):
    """An ordinary user may keep 20,000 bytes and 200 keys in the kernel by default. The helper
    keeps to half of that, so other programs' add_key keeps working."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dck-quota-")
        self.bin = copy_for_anyone(self.dir)
        self.env = dict(no_bus_env(), HOME=self.dir, XDG_CONFIG_HOME=self.dir)
        self.forget("dck-test-")  # what an interrupted earlier run left in nobody's quota
        # The kernel frees invalidated keys a moment later: wait until nobody's quota shows it.
        deadline = time.monotonic() + 10
        while nobody_bytes() > 1000 and time.monotonic() < deadline:
            time.sleep(0.05)

    def tearDown(self):
        self.forget(self.env["DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING"])
        self.forget("someone-else")
        shutil.rmtree(self.dir, ignore_errors=True)

    def forget(self, prefix):
        """Invalidate nobody's keys whose description starts with prefix (as nobody: only the
        owner sees them in /proc/keys)."""
        code = ("import ctypes\n"
                "libc = ctypes.CDLL(None)\n"
                "for line in open('/proc/keys', 'rb'):\n"
                "    f = line.split(None, 8)\n"
                "    if len(f) == 9 and f[8].startswith(%r):\n"
                "        libc.syscall(%d, 21, ctypes.c_long(int(f[0], 16)))\n"
                % (prefix.encode(), KEYCTL_NR))
        self.as_nobody(["python3", "-c", code])

    def as_nobody(self, argv, stdin=b""):
        return subprocess.run(argv, input=stdin, env=self.env, capture_output=True, cwd="/",
                              user=65534, group=65534, extra_groups=[], timeout=30)

    def test_logins_stop_at_half_the_quota_and_others_keep_room(self):
        stored = 0
        for i in range(40):
            p = self.as_nobody([self.bin, "store"],
                               store_json("quota%d.example.com" % i, "u", "x" * 2000).encode())
            if p.returncode != 0:
                self.assertEqual(p.stdout.count(b"\n"), 1, p)
                self.assertIn(b"no room in this user's kernel key quota", p.stdout)
                break
            stored += 1
        self.assertGreater(stored, 2)
        self.assertLess(stored, 8)  # about 10,000 bytes of 2 KB entries
        # Another program of the same user can still add a key of the same size.
        p = self.as_nobody(["keyctl", "padd", "user", "someone-else", "@u"], b"y" * 2000)
        self.assertEqual(p.returncode, 0, p)
        # What was stored is still there.
        p = self.as_nobody([self.bin, "get"], b"quota0.example.com")
        self.assertEqual(p.returncode, 0, p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
