#!/usr/bin/env bash
# `make run` on embedded defaults as a user runs it: wait for the banner, call the demo SCIM
# endpoint, check static files, /healthz, dbshell and the CLI's printed URL, then Ctrl-C it and
# check that nothing is left running (the embedded servers included).
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL REDIS_URL ROLLCALL_PUBLIC_URL
export PORT="${SMOKE_PORT:-18180}"
export ROLLCALL_DATA_DIR="${ROLLCALL_DATA_DIR:-$PWD/.data/smoke}"
log="$(mktemp)"
fail() { cat "$log"; echo "smoke: $*" >&2; exit 1; }

# Its own process group, like a terminal's foreground job: Ctrl-C reaches make and the supervisor.
setsid make run >"$log" 2>&1 &
runner=$!
cleanup() {
  kill -INT -- "-$runner" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$runner" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$runner" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  grep -q "Demo SCIM token" "$log" && break
  kill -0 "$runner" 2>/dev/null || fail "make run exited early"
  sleep 0.5
done
grep -q "Demo SCIM token" "$log" || fail "make run did not come up"
base=$(grep "Demo SCIM URL" "$log" | awk '{print $NF}')
token=$(grep "Demo SCIM token" "$log" | awk '{print $NF}')

healthy=0
for _ in $(seq 1 60); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)" = 200 ] && { healthy=1; break; }
  sleep 1
done
[ "$healthy" = 1 ] || fail "healthz never turned 200"
[ "$(curl -s "http://127.0.0.1:$PORT/healthz")" = '{"status": "ok"}' ] || fail "healthz is not terse"

status=$(curl -s -o /tmp/smoke_users.json -w '%{http_code}' -H "Authorization: Bearer $token" "$base/Users?count=1")
[ "$status" = 200 ] || fail "SCIM list returned $status"
grep -q '"totalResults"' /tmp/smoke_users.json
created=$(curl -s -o /tmp/smoke_create.json -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"smoke.'"$RANDOM"'@acme.test"}' "$base/Users")
[ "$created" = 201 ] || fail "SCIM create returned $created"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$base/Users")" = 401 ] || fail "bad token not 401"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/static/admin/css/base.css")" = 200 ] || fail "static files not served"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" = 404 ] || fail "/metrics open without a token"

# dbshell reaches the embedded server (not the machine's PostgreSQL on 5432).
datadir=$(PORT=8000 ./rollcall dbshell -- -At -c "SHOW data_directory" 2>&1)
[ "$datadir" = "$ROLLCALL_DATA_DIR/pg" ] || fail "dbshell reached '$datadir', not the embedded server"
# The CLI in another shell (other PORT) prints the running instance's URL, and prints nothing else.
url=$(PORT=8000 ./rollcall connection create --tenant acme --idp generic --json 2>/tmp/smoke_cli.err \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["scim_base_url"])')
case "$url" in "http://127.0.0.1:$PORT/scim/v2/"*) ;; *) fail "CLI printed $url" ;; esac
[ ! -s /tmp/smoke_cli.err ] || { cat /tmp/smoke_cli.err; fail "the CLI printed warnings"; }

# Ctrl-C: everything stops, the embedded servers included.
kill -INT -- "-$runner"
for _ in $(seq 1 60); do kill -0 "$runner" 2>/dev/null || break; sleep 0.5; done
kill -0 "$runner" 2>/dev/null && fail "make run did not stop on Ctrl-C"
grep -q "Rollcall stopped." "$log" || fail "no clean stop"
[ ! -e "$ROLLCALL_DATA_DIR/pg/postmaster.pid" ] || fail "embedded PostgreSQL left running"
[ ! -e "$ROLLCALL_DATA_DIR/redis.sock" ] || ! kill -0 "$(cat "$ROLLCALL_DATA_DIR/redis.pid" 2>/dev/null || echo 0)" 2>/dev/null \
  || fail "embedded Redis left running"
if grep -E "Traceback|XDG_RUNTIME_DIR|W004|Service Unavailable" "$log"; then fail "noise in the terminal"; fi
echo "embedded smoke test: healthz 200 (terse), SCIM list 200, create 201, bad token 401, static 200, metrics closed,"
echo "  dbshell on the embedded server, CLI URL of the running instance, Ctrl-C stopped everything"
