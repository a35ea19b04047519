#!/bin/sh
# Export roots belong to www-data (uid 33), the user every web node writes as.
set -eu
for dir in /srv/nfs/*/; do
    [ -d "$dir" ] && chown 33:33 "$dir" && chmod 2775 "$dir"
done
mkdir -p /var/run/ganesha /var/lib/nfs/ganesha
exec "$@"
