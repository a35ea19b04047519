#!/bin/sh
# Takes the ACME service's certificate ($TLS_SOURCE) or makes a self-signed one for $SERVER_NAME when none was uploaded,
# checks the configs, starts the balancer.
set -eu
cert=/etc/haproxy/certs/site.pem
mkdir -p /etc/haproxy/certs
# ACME mode: the certificate the ACME service published, when there is one already (else self-signed until it is).
if [ -n "${TLS_SOURCE:-}" ] && [ -s "$TLS_SOURCE" ]; then
    install -m 600 "$TLS_SOURCE" "$cert"
fi
if [ ! -s "$cert" ]; then
    name="${SERVER_NAME:-localhost}"
    tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$name" \
        -addext "subjectAltName=DNS:$name" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    cat "$tmp/cert.pem" "$tmp/key.pem" > "$cert"
    chmod 600 "$cert"
    rm -rf "$tmp"
    echo "balancer: no certificate in config; made a self-signed one for $name" >&2
fi
mkdir -p /run/haproxy
haproxy -c -q -f /etc/haproxy/haproxy.cfg
if [ -s /etc/keepalived/keepalived.conf ]; then keepalived -t -f /etc/keepalived/keepalived.conf; fi
# A dead HAProxy must not refuse connections on the floating address (clients would fail instead of retrying).
if [ -s /etc/keepalived/vip-guard.nft ]; then nft -f /etc/keepalived/vip-guard.nft; fi
exec "$@"
