#!/bin/bash
# cert-watch SOURCE CERT: every CERT_WATCH_S seconds (default 5), when SOURCE (the ACME service's published
# cert+key, root's, mode 600) differs from CERT and holds a certificate with its own key, puts it into the running
# HAProxy through the admin socket (`set ssl cert` + `commit ssl cert`: new handshakes use it, open connections
# are untouched) and then onto disk for the next start. Never prints the key.
set -u
src=$1 cert=$2
sock=${ADMIN_SOCKET:-/run/haproxy/admin.sock}
umask 077
log() { echo "balancer: $(date -u +%FT%TZ) $*" >&2; }
pub() { openssl "$@" 2>/dev/null | openssl sha256 -r | cut -d' ' -f1; }
while sleep "${CERT_WATCH_S:-5}"; do
    [ -s "$src" ] && ! cmp -s "$src" "$cert" || continue
    tmp=$(mktemp "$(dirname "$cert")/.new.XXXXXX")
    cp "$src" "$tmp"
    # The certificate's public key and the key's must agree (a half-written or foreign file is skipped).
    if ! openssl x509 -noout -in "$tmp" 2>/dev/null || [ "$(pub x509 -pubkey -noout -in "$tmp")" != "$(pub pkey -pubout -in "$tmp")" ]; then
        log "the published certificate is not a certificate with its key; keeping the current one"
        rm -f "$tmp"
        continue
    fi
    set_out=$( { printf 'set ssl cert %s <<\n' "$cert"; cat "$tmp"; printf '\n'; } | socat -t 5 - "UNIX-CONNECT:$sock")
    commit_out=$(printf 'commit ssl cert %s\n' "$cert" | socat -t 5 - "UNIX-CONNECT:$sock")
    if [[ "$set_out" == *"Transaction created"* || "$set_out" == *"Transaction updated"* ]] && [[ "$commit_out" == *"Success!"* ]]; then
        mv "$tmp" "$cert"
        log "new certificate in use: $(openssl x509 -noout -subject -enddate -in "$cert" | tr '\n' ' ')"
    else
        printf 'abort ssl cert %s\n' "$cert" | socat -t 5 - "UNIX-CONNECT:$sock" >/dev/null
        log "HAProxy refused the new certificate: $(printf '%s %s' "$set_out" "$commit_out" | tr '\n' ' ' | head -c 300)"
        rm -f "$tmp"
    fi
done
