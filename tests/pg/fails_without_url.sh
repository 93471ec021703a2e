#!/bin/sh
# Runs a PostgreSQL test binary with neither KBO_TEST_PG_URL nor
# KBO_TEST_PG_URL_FILE set: it must fail (exit non-zero) saying why, never
# skip or pass (tests/support/pg_url.h).
out=$(env -u KBO_TEST_PG_URL -u KBO_TEST_PG_URL_FILE "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -eq 0 ]; then
  echo "FAIL: $1 exited 0 with no PostgreSQL" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -q 'no PostgreSQL for this test'; then
  echo "FAIL: $1 failed without saying that PostgreSQL is missing" >&2
  exit 1
fi
echo "ok: $1 fails without a PostgreSQL URL (exit $rc)"
