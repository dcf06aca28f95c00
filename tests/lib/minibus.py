"""minibus: just enough of the D-Bus wire protocol, in the standard library, for the benchmark to
write thousands of Secret Service items from one long-lived connection.

Why not secret-tool, busctl or gdbus per item: each is a process and a new bus client, which
gnome-keyring admits from an idle callback (a fresh client's first call may be declined), and
with 3,000 entries the process starts alone would cost more than the keyring's work. One
connection can also send many calls before reading the replies, so the daemon never waits for
us between two items.

Only unix:path= / unix:abstract= addresses and EXTERNAL authentication (the benchmark's own
private bus, tests/lib/keyring.py). Marshalling follows the specification's "Message Protocol":
every value aligned to its own size, structs and dict entries to 8, little-endian."""
import os
import socket
import struct

SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"

_FIXED = {"y": ("B", 1), "b": ("I", 4), "n": ("h", 2), "q": ("H", 2), "i": ("i", 4),
          "u": ("I", 4), "x": ("q", 8), "t": ("Q", 8), "d": ("d", 8), "h": ("I", 4)}


class DBusError(Exception):
    def __init__(self, name, text):
        super().__init__("%s: %s" % (name, text))
        self.name = name


def _split(sig):
    """The complete types of a signature: "a{ss}ob" -> ["a{ss}", "o", "b"]."""
    out, i = [], 0
    while i < len(sig):
        j = _end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _end(sig, i):
    c = sig[i]
    if c == "a":
        return _end(sig, i + 1)
    if c in "({":
        close, depth, j = {"(": ")", "{": "}"}[c], 1, i + 1
        while depth:
            depth += {c: 1, close: -1}.get(sig[j], 0)
            j += 1
        return j
    return i + 1


def _align_of(t):
    c = t[0]
    if c in "({":
        return 8
    if c in "sao":
        return 4
    if c in "gvy":
        return 1
    return _FIXED[c][1]


class _Writer:
    def __init__(self):
        self.b = bytearray()

    def pad(self, n):
        self.b += b"\0" * ((n - len(self.b) % n) % n)

    def put(self, t, v):
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.pad(size)
            self.b += struct.pack("<" + fmt, v)
        elif c in "so":
            raw = v.encode()
            self.put("u", len(raw))
            self.b += raw + b"\0"
        elif c == "g":
            raw = v.encode()
            self.b += bytes([len(raw)]) + raw + b"\0"
        elif c == "v":
            sig, inner = v
            self.put("g", sig)
            self.put(sig, inner)
        elif c == "a":
            elem = t[1:]
            self.put("u", 0)
            at = len(self.b) - 4
            self.pad(_align_of(elem))
            start = len(self.b)
            items = v.items() if elem[0] == "{" else v
            for item in items:
                self.put(elem, item)
            struct.pack_into("<I", self.b, at, len(self.b) - start)
        elif c in "({":
            self.pad(8)
            for sub, item in zip(_split(t[1:-1]), v):
                self.put(sub, item)
        else:
            raise ValueError("type %r not supported" % t)


class _Reader:
    def __init__(self, data, pos=0):
        self.d, self.p = data, pos

    def pad(self, n):
        self.p += (n - self.p % n) % n

    def get(self, t):
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.pad(size)
            (v,) = struct.unpack_from("<" + fmt, self.d, self.p)
            self.p += size
            return v
        if c in "so":
            n = self.get("u")
            v = self.d[self.p:self.p + n].decode()
            self.p += n + 1
            return v
        if c == "g":
            n = self.d[self.p]
            v = self.d[self.p + 1:self.p + 1 + n].decode()
            self.p += n + 2
            return v
        if c == "v":
            sig = self.get("g")
            return self.get(sig)
        if c == "a":
            n, elem = self.get("u"), t[1:]
            self.pad(_align_of(elem))
            end, out = self.p + n, []
            while self.p < end:
                out.append(self.get(elem))
            return dict(out) if elem[0] == "{" else out
        if c in "({":
            self.pad(8)
            return tuple(self.get(sub) for sub in _split(t[1:-1]))
        raise ValueError("type %r not supported" % t)


def _address_path(address):
    for part in address.split(";"):
        kind, _, rest = part.partition(":")
        keys = dict(kv.split("=", 1) for kv in rest.split(",") if "=" in kv)
        if kind == "unix" and "path" in keys:
            return keys["path"]
        if kind == "unix" and "abstract" in keys:
            return "\0" + keys["abstract"]
    raise ValueError("no unix:path= or unix:abstract= in %r" % address)


class Bus:
    def __init__(self, address):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(_address_path(address))
        self.sock.sendall(b"\0AUTH EXTERNAL %s\r\n" % str(os.getuid()).encode().hex().encode())
        line = self._line()
        if not line.startswith(b"OK"):
            raise DBusError("auth", line.decode(errors="replace"))
        self.sock.sendall(b"BEGIN\r\n")
        self.serial = 0
        self.buf = b""
        self.replies = {}
        self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")

    def _line(self):
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = self.sock.recv(1)
            if not chunk:
                raise DBusError("auth", "bus closed the connection")
            data += chunk
        return data

    def close(self):
        self.sock.close()

    def send(self, dest, path, iface, member, sig="", args=()):
        """Sends one method call; returns its serial (wait() reads the answer)."""
        self.serial += 1
        body = _Writer()
        for t, v in zip(_split(sig), args):
            body.put(t, v)
        fields = [(1, ("o", path)), (2, ("s", iface)), (3, ("s", member)), (6, ("s", dest))]
        if sig:
            fields.append((8, ("g", sig)))
        msg = _Writer()
        msg.b += struct.pack("<cBBBII", b"l", 1, 0, 1, len(body.b), self.serial)
        msg.put("a(yv)", fields)
        msg.pad(8)
        self.sock.sendall(bytes(msg.b) + bytes(body.b))
        return self.serial

    def wait(self, serial, sig):
        """The reply to call serial, unmarshalled as sig (a tuple); DBusError for an error."""
        while serial not in self.replies:
            self._read_one()
        kind, fields, body = self.replies.pop(serial)
        if kind == 3:
            text = _Reader(body).get("s") if fields.get(8, "").startswith("s") else ""
            raise DBusError(fields.get(4, "?"), text)
        r = _Reader(body)
        return tuple(r.get(t) for t in _split(sig))

    def call(self, dest, path, iface, member, sig="", args=(), reply=""):
        return self.wait(self.send(dest, path, iface, member, sig, args), reply)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise DBusError("closed", "the bus closed the connection")
            self.buf += chunk

    def _read_one(self):
        self._need(16)
        if self.buf[0:1] != b"l":
            raise DBusError("wire", "big-endian replies are not supported")
        kind, body_len, fields_len = self.buf[1], *struct.unpack_from("<I", self.buf, 4), \
            struct.unpack_from("<I", self.buf, 12)[0]
        head = 16 + fields_len
        head += (8 - head % 8) % 8
        self._need(head + body_len)
        fields = dict(_Reader(self.buf[:head], 12).get("a(yv)"))
        body = self.buf[head:head + body_len]
        self.buf = self.buf[head + body_len:]
        if kind in (2, 3) and 5 in fields:
            self.replies[fields[5]] = (kind, fields, body)


def _service_call(bus, member, sig="", args=(), reply=""):
    return bus.call(SECRETS, SERVICE_PATH, SERVICE_IFACE, member, sig, args, reply)


class SecretWriter:
    """One connection to the Secret Service that creates items in the default collection,
    many calls in flight at a time."""

    def __init__(self, address):
        self.bus = Bus(address)
        # gnome-keyring admits a new client from an idle callback and may decline a call that
        # arrives before it: a harmless first call, asked until it succeeds, gets us admitted.
        for attempt in range(50):
            try:
                _, self.session = _service_call(self.bus, "OpenSession", "sv", ("plain", ("s", "")),
                                                "vo")
                break
            except DBusError:
                if attempt == 49:
                    raise
        (self.collection,) = _service_call(self.bus, "ReadAlias", "s", ("default",), "o")

    def create(self, items, window=64):
        """items: (label, {attribute: value}, secret bytes); at most window calls in flight."""
        pending = []
        for label, attrs, secret in items:
            props = {"org.freedesktop.Secret.Item.Label": ("s", label),
                     "org.freedesktop.Secret.Item.Attributes": ("a{ss}", attrs)}
            pending.append(self.bus.send(
                SECRETS, self.collection, "org.freedesktop.Secret.Collection", "CreateItem",
                "a{sv}(oayays)b", (props, (self.session, b"", secret, "text/plain"), True)))
            if len(pending) >= window:
                self.bus.wait(pending.pop(0), "oo")
        for serial in pending:
            self.bus.wait(serial, "oo")

    def close(self):
        self.bus.close()


def items(address, attrs, window=50):
    """{path: (attributes, modified)} of every unlocked item matching attrs, read on one
    connection with many calls in flight: the tests' own view of the keyring, independent of the
    helper. A fresh client's first search may be declined or come back empty (gnome-keyring
    admits clients from an idle callback): it is asked again."""
    bus = Bus(address)
    try:
        for _ in range(5):
            try:
                unlocked, _ = _service_call(bus, "SearchItems", "a{ss}", (attrs,), "aoao")
            except DBusError:
                continue
            if unlocked:
                break
        out = {}
        for i in range(0, len(unlocked), window):
            chunk = unlocked[i:i + window]
            serials = [(p, bus.send(SECRETS, p, "org.freedesktop.DBus.Properties", "GetAll", "s",
                                    ("org.freedesktop.Secret.Item",))) for p in chunk]
            for p, s in serials:
                (props,) = bus.wait(s, "a{sv}")
                out[p] = (props["Attributes"], props["Modified"])
        return out
    finally:
        bus.close()
