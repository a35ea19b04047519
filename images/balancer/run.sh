#!/bin/bash
# Runs HAProxy and, when a keepalived.conf was uploaded, keepalived beside it, as one service:
# - SIGUSR2 (the unit's reload, or `docker kill -s USR2`) makes HAProxy re-read its config and keepalived re-read its;
# - SIGTERM first stops keepalived, which hands the floating address to a peer at once (priority 0 advert), waits
#   a second for connections already queued here, then lets HAProxy finish the requests it is serving (soft stop);
# - if either process ends on its own, the other is stopped and the service exits non-zero, so Docker or systemd
#   restarts both (a balancer without its VRRP process, or the reverse, must not hold the address).
set -u
HAPROXY_CFG=/etc/haproxy/haproxy.cfg
KEEPALIVED_CFG=/etc/keepalived/keepalived.conf
haproxy -W -db -f "$HAPROXY_CFG" &
haproxy_pid=$!
keepalived_pid=
if [ -s "$KEEPALIVED_CFG" ]; then
    # A balancer that was killed leaves keepalived's pid files behind; the next start would take a reused PID for
    # a running keepalived and exit ("daemon is already running").
    rm -f /run/keepalived.pid /run/vrrp.pid /run/checkers.pid
    keepalived --vrrp -n -l -D -f "$KEEPALIVED_CFG" &
    keepalived_pid=$!
fi
stopping=
reload() {
    kill -USR2 "$haproxy_pid"
    [ -z "$keepalived_pid" ] || kill -HUP "$keepalived_pid"
}
stop() {
    stopping=1
    if [ -n "$keepalived_pid" ]; then
        kill -TERM "$keepalived_pid" 2>/dev/null
        wait "$keepalived_pid"
        # The address has left this machine: its guard (see entrypoint) is not needed until the next start.
        nft delete table ip bitrix_vip_guard 2>/dev/null
        # Connections that reached this balancer before the address left wait in HAProxy's accept queue; let it
        # take them before it closes its listeners (closing would reset them).
        sleep 1
    fi
    kill -USR1 "$haproxy_pid" 2>/dev/null
    wait "$haproxy_pid"
    exit 0
}
trap reload USR2 HUP
trap stop TERM INT
while :; do
    # Returns when a child ends, or early when a trapped signal arrives (the trap has run by then).
    wait -n
    [ -n "$stopping" ] && exit 0
    if ! kill -0 "$haproxy_pid" 2>/dev/null || { [ -n "$keepalived_pid" ] && ! kill -0 "$keepalived_pid" 2>/dev/null; }; then
        echo "balancer: $(kill -0 "$haproxy_pid" 2>/dev/null && echo keepalived || echo haproxy) ended; stopping the other" >&2
        kill -TERM "$keepalived_pid" 2>/dev/null
        kill -TERM "$haproxy_pid" 2>/dev/null
        wait
        exit 1
    fi
done
