#!/bin/bash
# Runs HAProxy and, when a keepalived.conf was uploaded, keepalived beside it, as one service:
# - SIGUSR2 (the unit's reload, or `docker kill -s USR2`) makes HAProxy re-read its config and keepalived re-read its;
# - SIGTERM shuts the floating address's door to new connections (their SYNs are dropped, so clients send them
#   again a second later), lets HAProxy accept what already waits in its queues, drains HAProxy (soft stop: the open
#   connections finish; at most 2 s), then stops keepalived, which hands the address to a peer at once (priority 0
#   advert);
# - HAProxy's log (stdout, a line per request) goes through balancer-log-relay, run as nobody, which passes it on in
#   batches every 50 ms, so Docker's log copier is not woken for every request (on hosts it appends to the unit's
#   log file in batches);
# - if one of them ends on its own, the others are stopped and the service exits non-zero, so Docker or systemd
#   restarts them all (a balancer without its VRRP process, or the reverse, must not hold the address).
set -u
# The paths can be moved for the daemon test that runs this script (tests/daemons/balancerStop.test.ts).
HAPROXY_CFG=${BALANCER_HAPROXY_CFG:-/etc/haproxy/haproxy.cfg}
KEEPALIVED_CFG=${BALANCER_KEEPALIVED_CFG:-/etc/keepalived/keepalived.conf}
LOG_RELAY=${BALANCER_LOG_RELAY:-/usr/local/bin/balancer-log-relay}
LOG_FIFO=${BALANCER_LOG_FIFO:-/run/balancer-log.fifo}
rm -f "$LOG_FIFO"
mkfifo -m 600 "$LOG_FIFO"
# Root opens the pipe's read end for it (the redirection), then it runs as nobody: it only copies bytes.
(exec setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs "$LOG_RELAY") <"$LOG_FIFO" &
relay_pid=$!
haproxy -W -db -f "$HAPROXY_CFG" >"$LOG_FIFO" &
haproxy_pid=$!
keepalived_pid=
if [ -s "$KEEPALIVED_CFG" ]; then
    # A balancer that was killed leaves keepalived's pid files behind; the next start would take a reused PID for
    # a running keepalived and exit ("daemon is already running").
    rm -f /run/keepalived.pid /run/vrrp.pid /run/checkers.pid
    keepalived --vrrp -n -l -D -f "$KEEPALIVED_CFG" &
    keepalived_pid=$!
fi
watch_pid=
if [ -n "${TLS_SOURCE:-}" ]; then
    # ACME mode: a renewed certificate is swapped into the running HAProxy (no reload, no dropped connection).
    /usr/local/bin/balancer-cert-watch "$TLS_SOURCE" /etc/haproxy/certs/site.pem &
    watch_pid=$!
fi
stopping=
reload() {
    kill -USR2 "$haproxy_pid"
    [ -z "$keepalived_pid" ] || kill -HUP "$keepalived_pid"
}
stop() {
    stopping=1
    [ -z "$watch_pid" ] || kill -TERM "$watch_pid" 2>/dev/null
    # Close the door first, where there is a floating address: new connection attempts on it get no answer (the
    # guard's `draining` chain drops their SYNs) and clients send them again a second later, when a peer holds it.
    # Then wait (about 2 s at most) until HAProxy has accepted the connections the kernel already completed: a listener
    # that closes with connections in its queue resets them (read ECONNRESET in the client).
    if nft add rule ip bitrix_vip_guard input jump draining 2>/dev/null; then
        for _ in $(seq 40); do
            ss -Hltnp 2>/dev/null | awk '/"haproxy"/ && $2 > 0 { found = 1 } END { exit !found }' || break
            sleep 0.05
        done
    fi
    # Drain: HAProxy stops accepting (an attempt that still arrives gets no answer - the guard drops the kernel's
    # refusal) and finishes what it is serving, for at most 2 s.
    kill -USR1 "$haproxy_pid" 2>/dev/null
    for _ in $(seq 20); do kill -0 "$haproxy_pid" 2>/dev/null || break; sleep 0.1; done
    # Then hand the address over (keepalived's priority-0 advert): the retried attempts reach the next balancer.
    # Handing it over first would cut the connections still open here: their next packets would reach a balancer
    # that does not know them.
    if [ -n "$keepalived_pid" ]; then
        kill -TERM "$keepalived_pid" 2>/dev/null
        wait "$keepalived_pid"
        # The address has left this machine: its guard (see entrypoint) is not needed until the next start.
        nft delete table ip bitrix_vip_guard 2>/dev/null
    fi
    wait "$haproxy_pid"
    # HAProxy has closed the log pipe: the relay writes out what it holds and ends.
    wait "$relay_pid"
    exit 0
}
trap reload USR2 HUP
trap stop TERM INT
while :; do
    # Returns when a child ends, or early when a trapped signal arrives (the trap has run by then).
    wait -n
    [ -n "$stopping" ] && exit 0
    ended=
    kill -0 "$haproxy_pid" 2>/dev/null || ended=haproxy
    [ -z "$keepalived_pid" ] || kill -0 "$keepalived_pid" 2>/dev/null || ended=${ended:-keepalived}
    kill -0 "$relay_pid" 2>/dev/null || ended=${ended:-"the log relay"}
    if [ -n "$ended" ]; then
        echo "balancer: $ended ended; stopping the rest" >&2
        [ -z "$keepalived_pid" ] || kill -TERM "$keepalived_pid" 2>/dev/null
        kill -TERM "$haproxy_pid" 2>/dev/null
        [ -z "$watch_pid" ] || kill -TERM "$watch_pid" 2>/dev/null
        wait
        exit 1
    fi
done
