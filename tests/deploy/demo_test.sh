#!/usr/bin/env bash
# The README's demo command, run as a newcomer runs it, on the programs this
# build made (KBO_DEMO_NO_BUILD=1: no apt-get, no rebuild under the other
# tests), on a free port, exiting when done: it must finish (exit 0), say
# what the README promises it says, leave a real photo (not a dot) with the
# province, and stop its server.
#
#   tests/deploy/demo_test.sh --build DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=""
while (($#)); do
  case "$1" in
    --build) build=$2; shift 2 ;;
    *) echo "usage: $0 --build DIR" >&2; exit 2 ;;
  esac
done
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$build/client/kbo" ] && [ -x "$build/server/kbo-server" ] \
  && [ -x "$build/tests/kbo_test_image" ] || fail "the demo's programs are not built in '$build'"
work=$(mktemp -d /tmp/kbo-demo-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
# A folder that does not exist yet (the demo makes it).
demo=$work/not/yet/there
out=$work/demo.out
KBO_DEMO_NO_BUILD=1 KBO_DEMO_EXIT=1 KBO_DEMO_PORT=0 KBO_BUILD_DIR=$build KBO_DEMO_DIR=$demo \
  "$root/tools/demo" >"$out" 2>&1 || { cat "$out"; fail "tools/demo exited $?"; }

said() { grep -qF -- "$1" "$out" || { cat "$out"; fail "the demo did not say: $1"; }; }
said "กลุ่มทอผ้าบ้านป่าตุ้ม"                 # Thai names as recorded
said "OPEN"                                   # the deliberate conflict, kept
said "received first (--keep current)"
said "Console:   http://127.0.0.1:"
said "sign in as: office"
grep -q "listening on http://127.0.0.1:0$" "$demo/server.out" && fail "the server did not take a port"
# The prototype's photo is a camera-sized picture that went to the server.
[ "$(stat -c %s "$demo/prototype.jpg")" -gt 10000 ] || fail "the demo's photo is not a real picture"
photos=$("$build/server/kbo-server" --data "$demo/province" list photo --json)
case "$photos" in *'"width": 1600'*|*'"width":1600'*) ;; *) echo "$photos"; fail "the server holds no 1600-px photo" ;; esac
# Its server stopped with it (by its data folder: a port may be another
# test's by now).
sleep 0.2
for c in /proc/[0-9]*/cmdline; do
  if tr '\0' ' ' <"$c" 2>/dev/null | grep -qF -- "--data $demo/province serve"; then
    fail "the demo's server is still running"
  fi
done
echo "demo: ok"
