#!/usr/bin/env bash
# Start `make run` on embedded defaults, wait for /healthz, call the demo SCIM endpoint, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${SMOKE_PORT:-8765}"
export ROLLCALL_DATA_DIR="${ROLLCALL_DATA_DIR:-$PWD/.data/smoke}"
log="$(mktemp)"
make run >"$log" 2>&1 &
runner=$!
cleanup() {
  pkill -INT -P "$runner" 2>/dev/null || true
  kill -INT "$runner" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$runner" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$runner" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  if grep -q "Demo SCIM token" "$log"; then break; fi
  if ! kill -0 "$runner" 2>/dev/null; then cat "$log"; echo "make run exited early" >&2; exit 1; fi
  sleep 0.5
done
grep -q "Demo SCIM token" "$log" || { cat "$log"; echo "make run did not come up" >&2; exit 1; }
base=$(grep "Demo SCIM URL" "$log" | awk '{print $NF}')
token=$(grep "Demo SCIM token" "$log" | awk '{print $NF}')

healthy=0
for _ in $(seq 1 60); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)
  if [ "$code" = "200" ]; then healthy=1; break; fi
  sleep 1
done
[ "$healthy" = 1 ] || { curl -s "http://127.0.0.1:$PORT/healthz"; cat "$log"; echo "healthz never turned 200" >&2; exit 1; }

status=$(curl -s -o /tmp/smoke_users.json -w '%{http_code}' -H "Authorization: Bearer $token" "$base/Users?count=1")
[ "$status" = "200" ] || { cat /tmp/smoke_users.json; echo "SCIM call returned $status" >&2; exit 1; }
grep -q '"totalResults"' /tmp/smoke_users.json
created=$(curl -s -o /tmp/smoke_create.json -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"smoke.'"$RANDOM"'@acme.test"}' "$base/Users")
[ "$created" = "201" ] || { cat /tmp/smoke_create.json; echo "SCIM create returned $created" >&2; exit 1; }
bad=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$base/Users")
[ "$bad" = "401" ] || { echo "bad token returned $bad" >&2; exit 1; }
echo "embedded smoke test: healthz 200, SCIM list 200, create 201, bad token 401"
