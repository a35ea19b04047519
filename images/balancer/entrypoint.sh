#!/bin/sh
# Makes a self-signed certificate for $SERVER_NAME when none was uploaded, checks the config, starts HAProxy.
set -eu
cert=/etc/haproxy/certs/site.pem
mkdir -p /etc/haproxy/certs
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
exec "$@"
