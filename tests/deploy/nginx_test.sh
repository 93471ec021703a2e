#!/usr/bin/env bash
# The reverse-proxy deployment, tested: tools/deploy/run-nginx starts a real
# kbo-server on loopback and nginx in front of it with the committed
# tools/deploy/nginx/kbo.conf and a self-signed certificate; then
#   - the config's limits are the documented ones (and the body cap is
#     kbo-server's push cap, read from shared/protocol.h);
#   - /v1/health answers through nginx over TLS;
#   - kbo devices enrol, push a record and pull it through nginx (signed
#     requests pass unchanged), trusting the certificate via SSL_CERT_FILE;
#     a device that does not trust it is refused and keeps everything;
#   - a header flood, an oversize header line and an oversize body are
#     refused by nginx and never reach kbo-server;
#   - enrolments beyond the burst get 429 from nginx;
#   - SIGTERM stops nginx and kbo-server and removes the folder.
# Any failure exits 1 with the reason; a missing nginx or openssl fails too.
#
#   tests/deploy/nginx_test.sh --kbo PATH --kbo-server PATH
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kbo=""
server_bin=""
while (($#)); do
  case "$1" in
    --kbo) kbo=$2; shift 2 ;;
    --kbo-server) server_bin=$2; shift 2 ;;
    *) echo "usage: $0 --kbo PATH --kbo-server PATH" >&2; exit 2 ;;
  esac
done
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $* (${SECONDS} s)"; }
[ -x "$kbo" ] || fail "no kbo binary at '$kbo'"
[ -x "$server_bin" ] || fail "no kbo-server binary at '$server_bin'"
kbo=$(realpath "$kbo")
server_bin=$(realpath "$server_bin")
command -v openssl >/dev/null || fail "openssl is not installed (tools/install-deps)"

conf=$root/tools/deploy/nginx/kbo.conf
work=$(mktemp -d "${TMPDIR:-/tmp}/kbo-nginx-test-XXXXXX")
run_pid=""
finish() {
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap finish EXIT

# --- 1. the limits in the committed config ---------------------------------
has() {  # directive line, exactly (leading spaces aside)
  grep -Eq "^[[:space:]]*$1[[:space:]]*$" "$conf" || fail "$conf lacks '$1'"
}
has 'client_header_buffer_size 1k;'
has 'large_client_header_buffers 4 8k;'
has 'client_header_timeout 10s;'
has 'client_body_timeout 10s;'
has 'limit_conn_zone \$binary_remote_addr zone=kbo_conn:10m;'
has 'limit_conn kbo_conn 32;'
has 'limit_req_zone \$binary_remote_addr zone=kbo_enroll:10m rate=1r/s;'
has 'limit_req zone=kbo_enroll burst=60 nodelay;'
has 'ssl_protocols TLSv1.2 TLSv1.3;'
has 'server_tokens off;'
has 'proxy_request_buffering on;'
has 'proxy_pass http://kbo_server;'
# The body cap is kbo-server's: kMaxPushBytes = size_t{N} << 20 (N MiB).
push_mib=$(sed -n 's/.*kMaxPushBytes = size_t{\([0-9][0-9]*\)} << 20;.*/\1/p' "$root/shared/protocol.h")
[ -n "$push_mib" ] || fail "cannot read kMaxPushBytes from shared/protocol.h (its form changed: update this test)"
has "client_max_body_size ${push_mib}m;"
ok "config limits (body cap ${push_mib} MiB = kMaxPushBytes)"

# --- 2. start the deployment ---------------------------------------------------
"$root/tools/deploy/run-nginx" --kbo-server "$server_bin" >"$work/run.out" 2>"$work/run.err" &
run_pid=$!
port=""
for _ in $(seq 300); do  # its last line printed: everything is up
  if grep -q '^kbo-server listening on' "$work/run.out"; then
    port=$(sed -n 's|^nginx listening on https://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$work/run.out")
    break
  fi
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/run.out" "$work/run.err" >&2; fail "run-nginx did not start"; }
cert=$(sed -n 's/^certificate //p' "$work/run.out")
data=$(sed -n 's/^kbo-server data //p' "$work/run.out")
rundir=$(dirname "$data")
server_log=$rundir/logs/server.log
url=https://127.0.0.1:$port
ok "run-nginx: $url in front of $(sed -n 's/^kbo-server listening on //p' "$work/run.out")"

# A raw request (stdin) through nginx over TLS, trusting the certificate;
# the answer on stdout.
raw() {
  timeout 20 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$cert" -verify_return_error 2>"$work/s_client.err"
}
status_of() { head -n 1 | tr -d '\r' | awk '{print $2}'; }
server_lines() { wc -l <"$server_log"; }

# --- 3. a request through it --------------------------------------------------
answer=$(printf 'GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' | raw)
[ "$(status_of <<<"$answer")" = 200 ] || fail "GET /v1/health through nginx: $answer $(cat "$work/s_client.err")"
grep -q '"ok":true' <<<"$answer" || fail "health body: $answer"
ok "GET /v1/health through nginx: 200"

# --- 4. devices through it -------------------------------------------------------
k() { SSL_CERT_FILE=$cert "$kbo" "$@"; }
token() { "$server_bin" --data "$data" token create --role "$1" --districts 5011 | head -n 1; }
officer=$work/officer
t=$(token field_officer)
set +e
env -u SSL_CERT_FILE -u SSL_CERT_DIR "$kbo" --home "$officer" enroll --server "$url" --token "$t" 2>"$work/err"
code=$?
set -e
[ "$code" = 4 ] || fail "enrol without trusting the certificate: exit $code (want 4): $(cat "$work/err")"
grep -q "not trusted" "$work/err" || fail "enrol without trust: $(cat "$work/err")"
k --home "$officer" enroll --server "$url" --token "$t" >/dev/null || fail "enrol through nginx"
producer=$(k --home "$officer" producer add --kind group --name "กลุ่มทอผ้าบ้านป่าตุ้ม" --district 5011)
k --home "$officer" sync 2>"$work/err" || fail "sync through nginx: $(cat "$work/err")"
pending=$(k --home "$officer" status --json | sed -n 's/.*"pending_changes": *\([0-9]*\).*/\1/p')
[ "$pending" = 0 ] || fail "pending changes after sync: '$pending'"
"$server_bin" --data "$data" list producer --json | grep -q "$producer" || fail "the server lacks $producer"
trainer=$work/trainer
k --home "$trainer" enroll --server "$url" --token "$(token trainer)" >/dev/null || fail "second enrolment"
k --home "$trainer" sync 2>"$work/err" || fail "pull through nginx: $(cat "$work/err")"
k --home "$trainer" list producer --json | grep -q "$producer" || fail "the trainer did not pull $producer"
# A pull's target has a query (?after=N&limit=M) that the signature covers:
# it verified, so nginx passed the target unchanged.
grep -q "GET /v1/pull 200" "$server_log" || fail "no signed pull answered 200 in the server log"
ok "enrol, push and pull through nginx (signed targets passed unchanged)"

# --- 5. refusals at nginx, before kbo-server ------------------------------------
before=$(server_lines)
# The three at once: nginx lingers ~5 s on each refused connection (its
# lingering close, for bytes the client may still send).
{ printf 'GET /v1/health HTTP/1.1\r\nHost: localhost\r\n'
  for i in $(seq 64); do printf 'X-Flood-%d: %01000d\r\n' "$i" 0; done
  printf 'Connection: close\r\n\r\n'; } | raw >"$work/flood" 2>&1 &
flood_pid=$!
printf 'GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Long: %09000d\r\nConnection: close\r\n\r\n' 0 \
  | raw >"$work/long" 2>&1 &
long_pid=$!
body=$((push_mib * 1024 * 1024 + 1))
printf 'POST /v1/push HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' "$body" \
  | raw >"$work/big" 2>&1 &
big_pid=$!
wait "$flood_pid" "$long_pid" "$big_pid" || true
[ "$(status_of <"$work/flood")" = 400 ] || fail "64 KB of headers: '$(head -n 1 "$work/flood")' (want 400)"
[ "$(status_of <"$work/long")" = 400 ] || fail "a 9 KB header line: '$(head -n 1 "$work/long")' (want 400)"
[ "$(status_of <"$work/big")" = 413 ] || fail "a $body-byte body: '$(head -n 1 "$work/big")' (want 413)"
sleep 0.2
[ "$(server_lines)" = "$before" ] || fail "a refused request reached kbo-server: $(tail -n 3 "$server_log")"
ok "header flood 400, long header line 400, body over ${push_mib} MiB 413, none reached kbo-server"

# --- 6. the enrolment limit ---------------------------------------------------------
# One connection each, all at once (as devices do: nginx may stall on
# pipelined requests whose bodies it discards). The bucket refills one a
# second while they run, so: at most 61 + elapsed seconds pass.
mkdir "$work/enrol"
started=$SECONDS
pids=()
for i in $(seq 70); do
  printf 'POST /v1/enroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}' \
    | raw >"$work/enrol/$i" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}" || true
elapsed=$((SECONDS - started + 1))
limited=$(cat "$work"/enrol/* | grep -ao 'HTTP/1\.1 429' | wc -l)
passed=$(cat "$work"/enrol/* | grep -ao 'HTTP/1\.1 400' | wc -l)
[ $((limited + passed)) = 70 ] || fail "70 enrolments: $passed passed on, $limited refused, the rest unanswered"
[ "$limited" -ge 1 ] && [ "$passed" -le $((61 + elapsed)) ] \
  || fail "70 enrolments in ${elapsed} s: $passed passed on (burst 60 + 1/s), $limited refused with 429"
ok "70 enrolments at once: $passed passed on, $limited refused by nginx (429)"

# --- 7. stop ----------------------------------------------------------------------
kill -TERM "$run_pid"
set +e
wait "$run_pid"
code=$?
set -e
run_pid=""
[ "$code" = 0 ] || fail "run-nginx exit $code after SIGTERM: $(cat "$work/run.err")"
[ ! -e "$rundir" ] || fail "run-nginx left $rundir"
if pgrep -f "$rundir" >/dev/null; then fail "processes of $rundir still running"; fi
ok "SIGTERM stopped nginx and kbo-server, folder removed"
echo "nginx deployment: all checks passed"
