#!/usr/bin/env bash
# Packaging: build the .deb with CPack from a clean build directory, check what it holds and
# what it depends on; when running as root in CI (CI=true), install it with apt, run the
# installed binary, its aliases and the protocol conformance tests against it, and remove it.
# Also builds the .rpm when rpmbuild is available.
#   tests/integration/test_packaging.sh [SOURCE_DIR]
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dck-packaging.XXXXXX")
installed=0
cleanup() {
  if [ "$installed" = 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq docker-credential-keyring >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || fail "$tool is missing (packages cmake, dpkg-dev)"
done

cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "cmake"; }
cmake --build "$work/build" -j "$(nproc 2>/dev/null || echo 2)" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; fail "build"; }
(cd "$work/build" && cpack -G DEB) >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }

deb=$(ls "$work"/build/docker-credential-keyring_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { cat "$work/cpack.log"; fail "no .deb produced"; }
echo "built $(basename "$deb")"

contents=$(dpkg-deb -c "$deb")
check_entry() { # path [link target]
  local line
  line=$(awk -v p="./$1" '$6 == p { print; exit }' <<<"$contents")
  [ -n "$line" ] || fail "$1 is not in the package"
  if [ $# -eq 2 ]; then
    grep -q -- "-> $2\$" <<<"$line" || fail "$1 is not a link to $2: $line"
  fi
}
check_entry usr/bin/docker-credential-keyring
bin_line=$(awk '$6 == "./usr/bin/docker-credential-keyring"' <<<"$contents")
grep -q '^-rwxr-xr-x' <<<"$bin_line" \
  || fail "the binary is not an executable file"
check_entry usr/bin/docker-credential-digitalocean docker-credential-keyring
check_entry usr/bin/docker-credential-rancher docker-credential-keyring
grep -Eq '\./usr/share/man/man1/docker-credential-keyring\.1(\.gz)?$' <<<"$contents" \
  || fail "the man page is not in the package"
check_entry usr/share/doc/docker-credential-keyring/README.md

name=$(dpkg-deb -f "$deb" Package)
[ "$name" = docker-credential-keyring ] || fail "package name is $name"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libsecret-1-0 libjson-c libc6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
# libcurl is loaded on the first HTTP request (dlopen), so it is not NEEDED by the binary and
# the package must name it itself.
dpkg-deb -x "$deb" "$work/root"
needed=$(readelf -d "$work/root/usr/bin/docker-credential-keyring")
grep -q 'NEEDED.*libcurl' <<<"$needed" && fail "the binary links libcurl: every call would load it"
grep -q 'libcurl4' <<<"$depends" || fail "Depends lacks libcurl4: $depends"
# Likewise libsecret and GLib: loaded on the first keyring operation, not at every start.
grep -qE 'NEEDED.*lib(secret|glib|gio|gobject)' <<<"$needed" \
  && fail "the binary links libsecret or GLib: every call would load them"
grep -q 'libglib2.0-0' <<<"$depends" || fail "Depends lacks libglib2.0-0: $depends"
recommends=$(dpkg-deb -f "$deb" Recommends)
grep -q gnome-keyring <<<"$recommends" || fail "Recommends lacks gnome-keyring: $recommends"
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] || fail "no Maintainer"
[ -n "$(dpkg-deb -f "$deb" Description)" ] || fail "no Description"

if command -v rpmbuild >/dev/null; then
  (cd "$work/build" && cpack -G RPM) >"$work/cpack-rpm.log" 2>&1 || { cat "$work/cpack-rpm.log"; fail "cpack -G RPM"; }
  rpm=$(ls "$work"/build/docker-credential-keyring-*.rpm | head -1)
  requires=$(rpm -qp --requires "$rpm" 2>/dev/null)
  for req in libsecret json-c libcurl; do
    grep -qx "$req" <<<"$requires" || fail "the rpm does not require $req"
  done
  files=$(rpm -qlp "$rpm" 2>/dev/null)
  grep -qx /usr/bin/docker-credential-rancher <<<"$files" || fail "the rpm lacks the rancher link"
  echo "built $(basename "$rpm")"
else
  echo "rpmbuild not found (package rpm): .rpm not built"
fi

if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  installed=1
  apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get install"; }
  for n in keyring digitalocean rancher; do
    out=$(/usr/bin/docker-credential-$n version) || fail "docker-credential-$n version"
    case "$out" in *docker-credential-keyring*) ;; *) fail "docker-credential-$n version said: $out" ;; esac
  done
  help=$(/usr/bin/docker-credential-keyring --help)
  grep -q configure <<<"$help" || fail "--help lacks configure"
  # The installed binary through the protocol conformance tests.
  DCK_BIN=/usr/bin/docker-credential-keyring python3 "$src/tests/integration/test_protocol.py" \
    >"$work/protocol.log" 2>&1 || { cat "$work/protocol.log"; fail "protocol tests against the installed binary"; }
  apt-get remove -y -qq docker-credential-keyring >/dev/null 2>&1 || fail "apt-get remove"
  installed=0
  [ ! -e /usr/bin/docker-credential-keyring ] || fail "the binary is still there after removal"
  echo "installed, ran and removed the package"
else
  echo "not installing the package (only as root with CI=true)"
fi
echo "packaging: ok"
