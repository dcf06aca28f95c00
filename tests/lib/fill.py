"""Filling a private keyring (keyring.py) with thousands of entries in seconds, for the
benchmark and the tests that need a realistic size.

Item by item, gnome-keyring rewrites its whole file for each new item: 1,000 entries take 30 s
and the time grows with the square of the size. Instead, the entries are written in
gnome-keyring's unencrypted file format while the daemon is stopped, the daemon loads them, and
its internal ChangeWithMasterPassword call (what seahorse uses to change a keyring's password)
saves them encrypted, once.

    ks = KeyringSession().start()
    fill.fill(ks, [(label, {attribute: value}, secret), ...])
"""
import os

import keyring
import minibus

GUILT = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"


def plain_keyring(items):
    """gnome-keyring's unencrypted file format (a GKeyFile): what it writes for a collection
    with an empty password. The bench's values are plain ASCII, so nothing needs escaping."""
    out = ["[keyring]", "display-name=login", "ctime=0", "mtime=0", "lock-on-idle=false",
           "lock-after=false", ""]
    for i, (label, attrs, secret) in enumerate(items, 1):
        out += ["[%d]" % i, "item-type=0", "display-name=" + label, "secret=" + secret,
                "mtime=0", "ctime=0", ""]
        for j, (k, v) in enumerate(sorted(attrs.items())):
            out += ["[%d:attribute%d]" % (i, j), "name=" + k, "type=string", "value=" + v, ""]
    return "\n".join(out)


def keyrings_dir(ks):
    return os.path.join(ks.env["XDG_DATA_HOME"], "keyrings")


def encrypt(ks):
    """Has gnome-keyring save the loaded plain keyring encrypted with the session's password
    (the internal interface seahorse uses; no prompt). The daemon unlocked the plain file with
    that password at start, which is the "original" it then expects; an empty one is tried too."""
    w = minibus.SecretWriter(ks.env["DBUS_SESSION_BUS_ADDRESS"])
    try:
        last = None
        for original in (keyring.PASSWORD, b""):
            try:
                w.bus.call(minibus.SECRETS, minibus.SERVICE_PATH, GUILT,
                           "ChangeWithMasterPassword", "o(oayays)(oayays)",
                           (w.collection, (w.session, b"", original, "text/plain"),
                            (w.session, b"", keyring.PASSWORD, "text/plain")))
                return
            except minibus.DBusError as e:
                last = e
        raise last
    finally:
        w.close()



def fill(ks, items):
    """Replace the session's login keyring by one holding items, encrypted with the session's
    password, the daemon running again on it."""
    ks.kill_keyring()
    os.makedirs(keyrings_dir(ks), exist_ok=True)
    with open(os.path.join(keyrings_dir(ks), "login.keyring"), "w") as f:
        f.write(plain_keyring(items))
    ks.restart_keyring()
    encrypt(ks)
    ks.restart_keyring()
