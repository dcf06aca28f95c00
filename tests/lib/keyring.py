#!/usr/bin/env python3
"""A private Secret Service for tests and demos: its own D-Bus session bus and gnome-keyring.

Nothing here touches the user's own keyring: HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR point
into a fresh temporary directory, so the keyring files live and die with the session.

As a library:
    with KeyringSession() as ks:          # unlocked "login" collection
        subprocess.run([...], env=ks.env)
    KeyringSession(locked=True)           # a collection that only a prompt could unlock
    ks.kill_keyring()                     # the daemon dies, the bus stays

As a command (used by the README and the test scripts):
    python3 tests/lib/keyring.py [--locked] -- COMMAND [ARG...]
runs COMMAND inside a fresh session and exits with its status.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PASSWORD = b"test-keyring-password"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class KeyringSession:
    def __init__(self, locked=False, with_keyring=True):
        self.locked = locked
        self.with_keyring = with_keyring
        self.dir = None
        self.env = None
        self.dbus_pid = None
        self.keyring_pid = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="keyring-session-")
        home = os.path.join(self.dir, "home")
        run = os.path.join(self.dir, "run")
        os.makedirs(home, mode=0o700)
        os.makedirs(run, mode=0o700)
        env = dict(os.environ)
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL"):
            env.pop(var, None)
        env.update(HOME=home, XDG_RUNTIME_DIR=run,
                   XDG_DATA_HOME=os.path.join(home, ".local", "share"),
                   XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"),
                   # The kernel keyring holds copies the keyring could not keep: one per session.
                   DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING=kernel_keyring_name(self.dir))
        self.env = env
        self._start_bus()
        if self.with_keyring:
            if self.locked:
                # Create the login collection with one password, then restart the daemon with
                # another: the collection exists but stays locked, as on a server after reboot.
                self._start_keyring(PASSWORD)
                self.kill_keyring()
                self._start_keyring(b"a-wrong-password")
            else:
                self._start_keyring(PASSWORD)
        return self

    def _start_bus(self):
        # Our own bus configuration: like the session bus, but with no service activation, so
        # a call to a missing Secret Service fails instead of starting a daemon nobody stops.
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONFIG % os.path.join(self.dir, "run", "bus"))
        out = subprocess.run(
            ["dbus-daemon", "--config-file=" + conf, "--fork", "--print-address=1",
             "--print-pid=1"],
            env=self.env, check=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        lines = out.stdout.decode().split()
        self.env["DBUS_SESSION_BUS_ADDRESS"] = lines[0]
        self.dbus_pid = int(lines[1])

    def _start_keyring(self, password):
        out = subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
            env=self.env, input=password, check=True, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        for line in out.stdout.decode().splitlines():
            if line.startswith("GNOME_KEYRING_CONTROL="):
                self.env["GNOME_KEYRING_CONTROL"] = line.split("=", 1)[1]
        self.keyring_pid = self._wait_for_keyring_pid()

    def _wait_for_keyring_pid(self):
        # gnome-keyring-daemon --daemonize does not print its pid; ask the bus who owns the name.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            r = subprocess.run(
                ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                 "/org/freedesktop/DBus", "org.freedesktop.DBus.GetConnectionUnixProcessID",
                 "string:org.freedesktop.secrets"],
                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return int(r.stdout.split()[-1])
            time.sleep(0.02)
        raise RuntimeError("gnome-keyring-daemon did not claim org.freedesktop.secrets")

    def kill_keyring(self):
        if self.keyring_pid:
            _kill(self.keyring_pid)
            self.keyring_pid = None

    def restart_keyring(self, locked=False):
        """Restart the daemon; with locked=True its collection stays locked (wrong password)."""
        self.kill_keyring()
        self._start_keyring(b"a-wrong-password" if locked else PASSWORD)

    def freeze_keyring(self):
        """Stop the daemon without killing it: it keeps its bus name and never answers."""
        os.kill(self.keyring_pid, signal.SIGSTOP)

    def thaw_keyring(self):
        os.kill(self.keyring_pid, signal.SIGCONT)

    def stop(self):
        self.kill_keyring()
        if self.env:
            forget_kernel_keyring(self.env.get("DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING", ""))
        if self.dbus_pid:
            _kill(self.dbus_pid)
            self.dbus_pid = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# keyctl(2) by number (Python has no binding and keyutils' CLI may be missing).
KEYCTL = {"x86_64": 250, "aarch64": 219, "i686": 288, "armv7l": 311, "ppc64le": 271,
          "s390x": 280, "riscv64": 219}
KEYCTL_INVALIDATE = 21


def kernel_keyring_name(unique):
    """A kernel keyring of the helper's (store/kernel/kernel_store.c) for one test session."""
    return "dck-test-" + os.path.basename(unique.rstrip("/"))


def forget_kernel_keyring(name):
    """Remove the helper's kernel keyring called name, and with it every key in it: the kernel
    keeps it after the test (it outlives the processes), and a user's key quota (200 keys,
    20,000 bytes for non-root) must not fill up with dead test sessions' keys."""
    nr = KEYCTL.get(os.uname().machine)
    if not name or nr is None:
        return
    try:
        ids = []
        with open("/proc/keys", "rb") as f:  # descriptions hold whatever a server key held
            for line in f:
                # ID FLAGS USAGE TIMEOUT PERM UID GID TYPE DESCRIPTION: SUMMARY
                fields = line.split(None, 8)
                if (len(fields) == 9 and fields[7] == b"keyring" and
                        fields[8].rsplit(b": ", 1)[0] == name.encode()):
                    ids.append(int(fields[0], 16))
    except OSError:
        return
    if ids:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        for key in ids:
            libc.syscall(nr, KEYCTL_INVALIDATE, ctypes.c_long(key))


def _kill(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(200):
        if not _alive(pid):
            return
        time.sleep(0.01)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid):
    # A daemon that forked away is not our child: once dead it may linger as a zombie until
    # init reaps it, so "still there" means "there and not a zombie".
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def main(argv):
    locked = False
    while argv and argv[0] != "--":
        if argv[0] == "--locked":
            locked = True
        else:
            print("usage: keyring.py [--locked] -- COMMAND [ARG...]", file=sys.stderr)
            return 2
        argv = argv[1:]
    argv = argv[1:]
    if not argv:
        print("usage: keyring.py [--locked] -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    with KeyringSession(locked=locked) as ks:
        return subprocess.run(argv, env=ks.env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
