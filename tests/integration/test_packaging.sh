#!/usr/bin/env bash
# The packages, as a packager following README.md makes them, checked as a Debian or Fedora
# reviewer would.
#
#   test_packaging.sh package SOURCE_DIR OUT_DIR BUILD_TYPE
#     Configures with the default install prefix, builds, makes the .deb and the .rpm (cpack),
#     and checks: no compiler or CMake warning; what each package holds (the binary, the alias
#     links beside it, every plugin, a man page per name, README and docs/ with their links
#     resolving, copyright, changelog) and that both hold the same files; the dependencies
#     cover every library an ELF file links or loads by soname; `version` names the git
#     commit; lintian (pedantic, info and experimental tags) and rpmlint report nothing but
#     the tags listed below with the reason each is left.
#   test_packaging.sh install SOURCE_DIR OUT_DIR
#     As root with CI=true only: installs OUT_DIR's .deb with apt, runs the protocol tests and
#     both aliases (against the fake APIs) with the installed files, purges the package and
#     checks that none of its files is left.
#
# Exits 77 (CTest: skipped) when it cannot run here: a tool missing, not root, not CI.
set -euo pipefail
mode=${1:?mode: package or install}
src=$(cd "${2:?source dir}" && pwd)
out=${3:?output dir}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
need() { for t in "$@"; do command -v "$t" >/dev/null || skip "$t is missing (tests/run installs it)"; done; }

# The tags the packages may show, each with why it stays (anything else fails the test).
lintian_allowed() { # build-type
  # Fortify needs optimisation (glibc refuses it at -O0): a Debug build has none by definition.
  [ "$1" = Debug ] && echo 'I: docker-credential-keyring: hardening-no-fortify-functions '
  return 0
}
RPMLINT_ALLOWED=(
  # Packages are signed with the distributor's key when published (rpmsign), not at build time.
  'E: no-signature'
  # rpmlint 2.4.0 (Debian 12) records a man page's section instead of its name
  # (FilesCheck.py: man_basenames.add(res.group('category'))), so every binary gets this; the
  # check below makes sure each one has its page.
  'W: no-manual-page-for-binary '
)

# --- package -------------------------------------------------------------------------------

build_packages() { # type
  local b="$out/build"
  # README.md, "Packages" (-j2: the CI machine's share).
  cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE="$1" >"$out/configure.log" 2>&1 \
    || { cat "$out/configure.log"; fail "cmake"; }
  cmake --build "$b" -j2 >"$out/build.log" 2>&1 || { cat "$out/build.log"; fail "build"; }
  # The README's build needs no test tools: tests are off unless asked for.
  [ ! -e "$b/tests/CTestTestfile.cmake" ] || fail "the README's build builds the tests (cmocka)"
  # A user's build does not stop on a warning; this test does.
  if grep -E -A3 'warning:|CMake Warning' "$out/configure.log" "$out/build.log"; then
    fail "$1 build: warnings (above)"
  fi
  (cd "$b" && cpack -G DEB && cpack -G RPM) >"$out/cpack.log" 2>&1 \
    || { cat "$out/cpack.log"; fail "cpack"; }
  if grep -E -A3 'CMake Warning|CPack Warning' "$out/cpack.log"; then
    fail "cpack: warnings (above)"
  fi
  deb=$(echo "$b"/docker-credential-keyring_*.deb)
  rpm=$(echo "$b"/docker-credential-keyring-*.rpm)
  [ -f "$deb" ] && [ -f "$rpm" ] || fail "no .deb or no .rpm in $b"
  cp "$deb" "$rpm" "$out/"
  echo "built $(basename "$deb") and $(basename "$rpm") ($1)"
}

check_contents() {
  local root="$out/root" f name target
  dpkg-deb -x "$deb" "$root"
  [ -z "$(find "$root" -mindepth 1 -maxdepth 1 ! -name usr)" ] || fail "files outside /usr"
  [ ! -e "$root/usr/local" ] || fail "files under /usr/local"
  [ -f "$root/usr/bin/docker-credential-keyring" ] && [ -x "$root/usr/bin/docker-credential-keyring" ] \
    || fail "no executable /usr/bin/docker-credential-keyring"
  for name in digitalocean rancher; do
    f="$root/usr/bin/docker-credential-$name"
    [ -L "$f" ] && [ "$(readlink "$f")" = docker-credential-keyring ] \
      || fail "/usr/bin/docker-credential-$name is not a relative link to the binary"
  done
  # Every plugin the build made is in the package, where the binary looks for it.
  find "$out/build" -path "$out/build/_CPack_Packages" -prune \
    -o -path '*/docker-credential-keyring/*.so' -printf '%f\n' | sort >"$out/plugins.built"
  find "$root/usr/lib" -path '*/docker-credential-keyring/*.so' -printf '%f\n' | sort >"$out/plugins.packaged"
  [ -s "$out/plugins.built" ] || fail "the build made no plugin"
  diff -u "$out/plugins.built" "$out/plugins.packaged" || fail "plugins built and packaged differ"
  # A compressed man page for every name in /usr/bin (a link to the main page is fine).
  for f in "$root"/usr/bin/*; do
    name=$(basename "$f")
    target="$root/usr/share/man/man1/$name.1.gz"
    [ -e "$target" ] || fail "no man page for $name (or a dangling link)"
  done
  gzip -t "$root/usr/share/man/man1/docker-credential-keyring.1.gz" || fail "man page not gzip"
  # The documentation: README beside docs/, every relative link resolving where installed.
  local doc="$root/usr/share/doc/docker-credential-keyring"
  for f in README.md copyright changelog.gz; do [ -f "$doc/$f" ] || fail "no $f in the doc dir"; done
  for f in "$src"/docs/*.md; do
    [ -f "$doc/docs/$(basename "$f")" ] || fail "docs/$(basename "$f") is not installed"
  done
  python3 - "$doc" <<'EOF' || fail "links that do not resolve in the installed documentation"
import os, re, sys
bad = []
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith(".md"):
            text = open(os.path.join(d, f), encoding="utf-8").read()
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                path = target.split("#")[0]
                if path and not re.match(r"[a-z]+:", path) and \
                        not os.path.exists(os.path.join(d, path)):
                    bad.append("%s: %s" % (os.path.join(d, f), target))
if bad:
    print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
  local version changelog_version
  version=$(dpkg-deb -f "$deb" Version)
  changelog_version=$(gzip -dc "$doc/changelog.gz" | dpkg-parsechangelog -l - -S Version)
  [ "$changelog_version" = "$version" ] || fail "changelog says $changelog_version, package $version"
  # `version`, run from the unpacked package (plugins found relative to it, as installed).
  local expect="docker-credential-keyring (docker-credential-keyring) v$version" commit
  commit=$(git -C "$src" describe --always --abbrev=12 --dirty --exclude='*' 2>/dev/null || true)
  if [ -n "$commit" ] && [ "$(git -C "$src" rev-parse --show-toplevel)" = "$src" ]; then
    expect="$expect (commit $commit)"
  fi
  [ "$("$root/usr/bin/docker-credential-keyring" version)" = "$expect" ] \
    || fail "version said \"$("$root/usr/bin/docker-credential-keyring" version)\", not \"$expect\""
}

# Every library an ELF file of the package links (NEEDED) or loads by soname (a "libX.so.N"
# string: dlopen), other than our plugins, must come from a package named in Depends.
owner_of() { # path: the package that holds it (dpkg knows /lib or /usr/lib: usrmerge)
  local p owner
  for p in "$1" "$(readlink -f "$1")" "${1#/usr}" "/usr$1"; do
    owner=$(dpkg-query -S "$p" 2>/dev/null | head -1 | cut -d: -f1 || true)
    [ -n "$owner" ] && { echo "$owner"; return 0; }
  done
  return 0
}

check_depends() {
  local root="$out/root" depends f soname path owner cache sonames=""
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends"
  [ -z "$(tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/[ (].*//' | sort | uniq -d)" ] \
    || fail "a package is named twice in Depends (a hand-written entry the tools compute too?)"
  while read -r f; do
    sonames+=" $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
    sonames+=" $(strings -n 6 "$f" | grep -E '^lib[a-z0-9_+-]+(\.[a-z0-9_+-]+)*\.so\.[0-9.]+$' || true)"
  done < <(find "$root" -type f -exec sh -c 'head -c4 "$1" | grep -q ELF' _ {} \; -print)
  cache=$(ldconfig -p)
  for soname in $(tr ' ' '\n' <<<"$sonames" | sort -u); do
    path=$(awk -v s="$soname" '$1 == s && /x86-64|64bit/ { print $NF; exit }' <<<"$cache")
    [ -n "$path" ] || path=$(awk -v s="$soname" '$1 == s { print $NF; exit }' <<<"$cache")
    [ -n "$path" ] || fail "$soname (used by the package) is not installed here"
    owner=$(owner_of "$path")
    [ -n "$owner" ] || fail "no package owns $path"
    grep -Eq "(^|, )$owner( |,|$)" <<<"$depends" || fail "$soname comes from $owner, which Depends lacks"
  done
  grep -q gnome-keyring <<<"$(dpkg-deb -f "$deb" Recommends)" || fail "Recommends lacks gnome-keyring"
}

check_lintian() { # type
  local tags unexpected
  tags=$(lintian --pedantic --display-info --display-experimental --tag-display-limit 0 \
    --show-overrides "$deb" 2>/dev/null || true)
  echo "lintian: ${tags:-nothing to say}"
  unexpected=$(grep -v -F -f <(lintian_allowed "$1"; echo '@@nothing@@') <<<"$tags" | grep . || true)
  [ -z "$unexpected" ] || fail "lintian: $unexpected"
}

check_rpm() {
  local root="$out/root" files req lint unexpected f
  # The same files as the .deb (directories aside; rpmbuild adds its .build-id links).
  (cd "$root" && find . ! -type d | sed 's|^\.||' | sort) >"$out/files.deb"
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null \
    | awk '$1 !~ /^d/ { print $2 }' | grep -v '^/usr/lib/\.build-id/' | sort >"$out/files.rpm"
  diff -u "$out/files.deb" "$out/files.rpm" || fail "the .deb and the .rpm hold different files"
  files=$(rpm -qpl "$rpm" 2>/dev/null)
  for f in /usr /usr/bin /usr/lib /usr/share /usr/share/man /usr/share/man/man1 /usr/share/doc; do
    grep -qx "$f" <<<"$files" && fail "the .rpm owns the system directory $f"
  done
  [ -z "$(grep '^/usr/lib/[^/]*-linux-gnu$\|^/usr/lib64$' <<<"$files")" ] \
    || fail "the .rpm owns the library directory"
  req=$(rpm -qpR "$rpm" 2>/dev/null)
  for f in libjson-c.so.5 libsecret-1.so.0 libcurl.so.4; do
    grep -q "^$f()" <<<"$req" || fail "the .rpm does not require $f: $req"
  done
  f=$(dpkg-deb -f "$deb" Description)
  [ "$(rpm -qp --qf '%{SUMMARY}' "$rpm")" = "${f%%$'\n'*}" ] \
    || fail "the summaries differ"
  # (Whole outputs in variables: `cmd | grep -q` could end cmd by SIGPIPE, failing pipefail.)
  f=$(rpm -qp --qf '%{DESCRIPTION}' "$rpm")
  grep -q "Secret Service" <<<"$f" || fail "the .rpm's description is not ours: $f"
  f=$(rpm -qp --qf '%{PACKAGER}' "$rpm")
  [ -n "$f" ] && [ "$f" != "(none)" ] || fail "no Packager"
  f=$(rpm -qp --changelog "$rpm")
  [[ "${f%%$'\n'*}" == *" - $(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$rpm")" ]] \
    || fail "the .rpm's changelog does not start with this version: ${f%%$'\n'*}"
  lint=$(rpmlint -c "$src/packaging/rpmlint.toml" "$rpm" 2>/dev/null | grep -E '^[^ ]+: [EW]: ' || true)
  echo "rpmlint: ${lint:-nothing to say}"
  unexpected=$(grep -v -F -f <(printf '%s\n' "${RPMLINT_ALLOWED[@]}") <<<"$lint" | grep . || true)
  [ -z "$unexpected" ] || fail "rpmlint: $unexpected"
}

# --- install -------------------------------------------------------------------------------

install_and_remove() {
  local files f n suite
  deb=$(echo "$out"/docker-credential-keyring_*.deb)
  [ -f "$deb" ] || skip "no .deb in $out: packaging_Release, which makes it, was skipped"
  export DEBIAN_FRONTEND=noninteractive
  trap 'apt-get purge -y -qq docker-credential-keyring >/dev/null 2>&1 || true' EXIT
  apt-get install -y -qq "$deb" >"$out/apt.log" 2>&1 || { cat "$out/apt.log"; fail "apt-get install"; }
  files=$(dpkg -L docker-credential-keyring)
  while read -r f; do [ -e "$f" ] || fail "$f is listed but not installed"; done <<<"$files"
  for n in keyring digitalocean rancher; do
    f=$(/usr/bin/docker-credential-$n version) || fail "docker-credential-$n version"
    [[ "$f" == "docker-credential-$n (docker-credential-keyring) v"* ]] \
      || fail "docker-credential-$n version said $f"
  done
  # The installed binary through the protocol tests, and each alias with its source.
  for suite in protocol aliases; do
    DCK_BIN=/usr/bin/docker-credential-keyring python3 "$src/tests/lib/run_suite.py" \
      "$src/tests/integration/test_$suite.py" >"$out/$suite.log" 2>&1 \
      || { cat "$out/$suite.log"; fail "test_$suite.py against the installed package"; }
  done
  apt-get purge -y -qq docker-credential-keyring >"$out/apt.log" 2>&1 || { cat "$out/apt.log"; fail "apt-get purge"; }
  trap - EXIT
  dpkg -s docker-credential-keyring >/dev/null 2>&1 && fail "still installed after purge"
  while read -r f; do
    # System directories (/usr/bin...) stay; ours (…/docker-credential-keyring) must go.
    [ -d "$f" ] && [[ "$f" != */docker-credential-keyring* ]] && continue
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after purge"
  done <<<"$files"
  echo "installed with apt, ran protocol and alias tests, purged: nothing left"
}

case $mode in
package)
  type=${4:?build type}
  rm -rf "$out"  # first: a skipped run leaves no package behind for the install test
  mkdir -p "$out"
  need cmake cpack dpkg-deb dpkg-shlibdeps dpkg-parsechangelog lintian rpmbuild rpm rpmlint \
    readelf strings python3 gzip
  build_packages "$type"
  check_contents
  check_depends
  check_lintian "$type"
  check_rpm
  ;;
install)
  [ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
  [ "${CI:-}" = true ] || skip "installs system-wide only in CI (CI=true)"
  need apt-get dpkg python3
  dpkg -s docker-credential-keyring >/dev/null 2>&1 \
    && skip "docker-credential-keyring is installed here already: not replacing it"
  install_and_remove
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "packaging ($mode): ok"
