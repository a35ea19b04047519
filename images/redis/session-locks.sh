#!/bin/bash
# Sentinel's client-reconfig-script: clears the PHP session locks a Redis failover leaves behind.
#
# A request that held its session's lock (phpredis: SET <prefix><id>_LOCK NX PX) when the master died can never
# release it, and the promoted replica has the lock too (replication is asynchronous but immediate). Until it
# expires (max_execution_time) every request of that user would wait the whole lock wait and then have its session
# write refused. Sentinel runs this script on a failover; as the leader, at "start" (the promoted replica has just
# reported itself master, before the web nodes' proxies send clients to it), it deletes on the new master the
# session locks older than SESSION_LOCK_MIN_AGE_MS: those were taken before the failover. A lock taken on the new
# master since is younger and stays. The age is SESSION_LOCK_EXPIRE_MS minus the lock's PTTL (replicas keep
# the master's absolute expiry), checked and deleted in one Lua call per key.
#
# Arguments (Sentinel's): <master-name> <role> <state> <from-ip> <from-port> <to-ip> <to-port>
# Environment (exported by the image's entrypoint from the generated sentinel.env): REDISCLI_AUTH,
# SESSION_LOCK_PATTERN, SESSION_LOCK_EXPIRE_MS, SESSION_LOCK_MIN_AGE_MS.
# Exit 1 asks Sentinel to retry (the new master did not answer); anything else is final.
set -uo pipefail
role=${2:-} state=${3:-} host=${6:-} port=${7:-}
[ "$role" = leader ] && [ "$state" = start ] || exit 0
if [ -z "${SESSION_LOCK_PATTERN:-}" ]; then
    echo "redis-session-locks: no SESSION_LOCK_PATTERN in the environment; nothing to clear" >&2
    exit 0
fi
[[ "$port" =~ ^[0-9]+$ ]] && [[ "${SESSION_LOCK_EXPIRE_MS:-}" =~ ^[0-9]+$ ]] && [[ "${SESSION_LOCK_MIN_AGE_MS:-}" =~ ^[0-9]+$ ]] || {
    echo "redis-session-locks: bad port or lock settings ($port, ${SESSION_LOCK_EXPIRE_MS:-}, ${SESSION_LOCK_MIN_AGE_MS:-})" >&2
    exit 2
}
max_pttl=$((SESSION_LOCK_EXPIRE_MS - SESSION_LOCK_MIN_AGE_MS))
# shellcheck disable=SC2016
lua='local t = redis.call("PTTL", KEYS[1]) if t >= 0 and t <= tonumber(ARGV[1]) then return redis.call("DEL", KEYS[1]) end return 0'
cli() { timeout 10 redis-cli -h "$host" -p "$port" --no-auth-warning "$@"; }
keys=$(cli --scan --pattern "$SESSION_LOCK_PATTERN") || {
    echo "redis-session-locks: the new master $host:$port did not answer; Sentinel retries" >&2
    exit 1
}
found=0 cleared=0
while IFS= read -r key; do
    [ -n "$key" ] || continue
    found=$((found + 1))
    [ "$(cli EVAL "$lua" 1 "$key" "$max_pttl")" = 1 ] && cleared=$((cleared + 1))
done <<<"$keys"
echo "redis-session-locks: failover of $1 to $host:$port: cleared $cleared of $found session locks (those older than ${SESSION_LOCK_MIN_AGE_MS} ms)"
