#!/bin/sh
# Export roots belong to www-data (uid 33), the user every web node writes as; then the server starts.
# NFS_EXPORT_ROOT moves the export root (the daemon tests run this same script on loopback).
set -eu
root=${NFS_EXPORT_ROOT:-/srv/nfs}
for dir in "$root"/*/; do
    [ -d "$dir" ] || continue
    chown 33:33 "$dir"
    chmod 2775 "$dir"
done
mkdir -p /var/run/ganesha /var/lib/nfs/ganesha
exec "$@"
