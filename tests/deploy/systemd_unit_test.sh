#!/usr/bin/env bash
# tools/deploy/kbo-server.service, checked: the hardening docs/operations.md
# promises is in it, `systemd-analyze verify` finds nothing wrong with it
# (its ExecStart pointed at the built kbo-server), and `systemd-analyze
# security --offline` rates its exposure 2.0 or lower ("OK"). A missing
# systemd-analyze fails the test (tools/install-deps installs systemd).
#
#   tests/deploy/systemd_unit_test.sh --kbo-server PATH
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
unit=$root/tools/deploy/kbo-server.service
server_bin=""
while (($#)); do
  case "$1" in
    --kbo-server) server_bin=$2; shift 2 ;;
    *) echo "usage: $0 --kbo-server PATH" >&2; exit 2 ;;
  esac
done
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$server_bin" ] || fail "no kbo-server binary at '$server_bin'"
server_bin=$(realpath "$server_bin")
command -v systemd-analyze >/dev/null \
  || fail "systemd-analyze is not installed (apt-get install systemd, or tools/install-deps)"

# The promised settings, each on a line of its own.
for line in 'User=kbo' 'Group=kbo' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'ReadWritePaths=/var/lib/kbo' \
    'StateDirectory=kbo' 'StateDirectoryMode=0700' 'UMask=0077' \
    'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes' 'KillSignal=SIGTERM' \
    'ExecStart=/usr/local/bin/kbo-server --data /var/lib/kbo serve $KBO_SERVE_ARGS'; do
  grep -qxF -- "$line" "$unit" || fail "$unit lacks '$line'"
done
echo "ok: hardening settings present"

work=$(mktemp -d "${TMPDIR:-/tmp}/kbo-unit-test-XXXXXX")
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/kbo-server|$server_bin|" "$unit" >"$work/kbo-server.service"
grep -qF "ExecStart=$server_bin " "$work/kbo-server.service" || fail "could not point ExecStart at $server_bin"
if ! out=$(systemd-analyze verify "$work/kbo-server.service" 2>&1) || [ -n "$out" ]; then
  fail "systemd-analyze verify: $out"
fi
echo "ok: systemd-analyze verify: clean"

report=$(systemd-analyze security --offline=yes "$work/kbo-server.service" 2>&1) \
  || fail "systemd-analyze security: $report"
exposure=$(sed -n 's/.*Overall exposure level for kbo-server\.service: \([0-9.]*\).*/\1/p' <<<"$report")
[ -n "$exposure" ] || fail "no exposure level in: $report"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' \
  || fail "exposure $exposure > 2.0: $(grep '✗' <<<"$report")"
echo "ok: systemd-analyze security: exposure $exposure"

# The default serve arguments are ones kbo-server accepts: it gets as far as
# loading the (absent) certificate, not a usage error about the flags.
args=$(sed -n 's/^Environment="KBO_SERVE_ARGS=\(.*\)"$/\1/p' "$unit")
[ -n "$args" ] || fail "no default KBO_SERVE_ARGS in $unit"
# shellcheck disable=SC2086  # split like systemd's $KBO_SERVE_ARGS
set +e
err=$(timeout 10 "$server_bin" --data "$work/data" serve $args 2>&1 >/dev/null)
set -e
grep -q "cannot load the TLS certificate '/etc/kbo/tls/fullchain.pem'" <<<"$err" \
  || fail "kbo-server serve $args: $err"
echo "ok: the default serve arguments parse (KBO_SERVE_ARGS=$args)"
echo "systemd unit: all checks passed"
