#!/usr/bin/env bash
# Builds from scratch that must have no warning at all: clang at every build type and GCC as
# debhelper builds (CMAKE_BUILD_TYPE=None) and at Release, each with the flags Debian's
# dpkg-buildflags gives (hardening=+all: fortify, stack protector, RELRO, bindnow, PIE) and
# -DDCK_WERROR=ON, tests included. (GCC at every build type without those flags, as a user
# builds, is in test_packaging.sh.) Then a warning a newer compiler might give, simulated: a
# user's build shows it and goes on, -DDCK_WERROR=ON stops on it.
# Exit 77 (skipped) when a compiler or dpkg-dev is missing.
#   tests/integration/test_builds.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cmake gcc clang dpkg-buildflags; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing (tests/run installs it)"; exit 77; }
done
rm -rf "$work"
mkdir -p "$work"

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
# CMake reads CFLAGS and LDFLAGS but not CPPFLAGS: debhelper appends them to CFLAGS, so do we.
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)

build() { # compiler build-type
  local dir="$work/$1-$2" log="$work/$1-$2.log"
  if ! CC=$1 CFLAGS=$cflags LDFLAGS=$ldflags cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE="$2" \
      -DBUILD_TESTING=ON -DDCK_WERROR=ON >"$log" 2>&1; then
    cat "$log"; fail "$1 $2: cmake"
  fi
  if ! cmake --build "$dir" -j2 >>"$log" 2>&1; then
    grep -E 'error|warning' "$log" | head -40; fail "$1 $2: the build failed"
  fi
  # -Werror covers the compiler; this covers CMake and the linker too.
  if grep -Eq 'warning:|CMake Warning' "$log"; then
    grep -E -A3 'warning:|CMake Warning' "$log" | head -40; fail "$1 $2: warnings"
  fi
  echo "$1 $2: no warnings"
  rm -rf "$dir"
}

for type in Debug Release RelWithDebInfo MinSizeRel; do
  build clang "$type"
done
build gcc None
build gcc Release

# Every file of ours compiled with an unused static variable in front: -Wall warns in each.
printf 'static int dck_test_newer_compiler_warning;\n' >"$work/warning.h"
user_build() { # werror target
  CFLAGS="-include $work/warning.h" cmake -S "$src" -B "$work/user-$1" \
    -DCMAKE_BUILD_TYPE=Release -DDCK_WERROR="$1" >"$work/user-$1.log" 2>&1 \
    && cmake --build "$work/user-$1" -j2 --target "$2" >>"$work/user-$1.log" 2>&1
}
user_build OFF docker-credential-keyring || { tail -20 "$work/user-OFF.log"; fail "a warning stopped a user's build"; }
grep -q 'dck_test_newer_compiler_warning' "$work/user-OFF.log" || fail "the simulated warning was not shown"
echo "a user's build with a new warning: built, warning shown"
user_build ON dck_base && fail "-DDCK_WERROR=ON did not stop on a warning"
grep -q 'dck_test_newer_compiler_warning' "$work/user-ON.log" || { tail -20 "$work/user-ON.log"; fail "DCK_WERROR build failed for another reason"; }
echo "the same with -DDCK_WERROR=ON: stopped"
rm -rf "$work/user-OFF" "$work/user-ON"
echo "builds: ok"
