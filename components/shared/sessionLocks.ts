/**
 * The PHP sessions' keys in Redis, a contract between the web nodes (php.ini's phpredis handler writes them) and
 * the Redis layer (its sentinels clear the locks a failover leaves behind).
 */

/** `session.save_path`'s prefix: sessions are `<prefix><id>`, their locks `<prefix><id>_LOCK` (phpredis 5.3). */
export const SESSION_KEY_PREFIX = "PHPREDIS_SESSION:";

/** The Redis glob that matches every session lock and nothing else of ours. */
export const SESSION_LOCK_PATTERN = `${SESSION_KEY_PREFIX}*_LOCK`;
