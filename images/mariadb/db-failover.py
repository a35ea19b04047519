#!/usr/bin/python3
"""db-failover: the database layer's failover manager (one per cluster).

Every database server starts read-only (generated config); this manager makes exactly one of them writable and
keeps the others replicating from it by GTID. Web nodes send writes to whichever server reports read_only = 0
(their local HAProxy checks every second), so promoting a replica is all it takes to move the application.

Each second it reads read_only and the replication status of every server. When the current master
  * has failed `failAfter` checks in a row, and
  * no reachable replica still has a running IO thread to it (the replicas agree it is gone),
it waits for each replica to apply what it has received, promotes the most advanced one (replication reset,
read_only off, semi-sync source on) and points the other replicas at it. A server that comes back (the old master)
is made a replica of the current master; with MariaDB, `current_pos` carries its own binlog position, and a
server holding transactions the master never had (errant GTIDs) is left read-only and out of routing, reported in
the log, for a human to re-clone. Config: a JSON file (argv[1]); passwords from the environment.

Bitrix's kernel reads from a replica only through the `cluster` module's table b_cluster_dbnode (main's
ConnectionPool::createSlaveConnection, CClusterSlave::GetRandomNode). When the application database has that table
(the module is installed), the manager keeps one row per healthy replica of the current master (ROLE_ID SLAVE,
ACTIVE Y, STATUS ONLINE, SELECTABLE Y, MASTER_ID 1, DB_HOST "host:port", the application login) and removes the row of
a server that is no longer a replica (the promoted one); it writes the rows through the application login on the
master, never through the module's SetOnLine (which would run CHANGE MASTER TO a binlog file/position). After a
change it drops the kernel's cached copy of the rows (managed cache "b_cluster_dbnode", kept 3600 s) in the Redis
cache the web nodes share. Where the table is absent it says so in the log once and in the beat file.
"""
import hashlib
import json
import os
import re
import signal
import socket
import sys
import time

import pymysql

CFG = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "/etc/db-failover/config.json"))
MARIADB = CFG["engine"] == "mariadb"
USER, PASSWORD = CFG["user"], os.environ["DB_FAILOVER_PASSWORD"]
REPL_USER, REPL_PASSWORD = CFG["replicationUser"], os.environ["DB_REPLICATION_PASSWORD"]
INTERVAL = CFG.get("checkIntervalS", 1)
FAIL_AFTER = CFG.get("failAfter", 3)
TIMEOUT = CFG.get("connectTimeoutS", 1)
# Touched after every round: the service's health check reads its age.
BEAT = os.environ.get("DB_FAILOVER_BEAT", "/run/db-failover/beat")
# Bitrix's replica rows (optional): {"database", "user", "weight", "syncEveryS", "cache": {"nodes": [{host, port}], "sid"}}.
BITRIX = CFG.get("bitrix")
APP_PASSWORD = os.environ.get("DB_APP_PASSWORD", "")
REDIS_PASSWORD = os.environ.get("REDIS_PASSWORD", "")


def log(msg):
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} db-failover: {msg}", flush=True)


def quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


class Node:
    def __init__(self, spec):
        self.name, self.host, self.port = spec["name"], spec["host"], spec["port"]
        self.conn = None
        self.fails = 0
        self.errant = False

    def q(self, sql, args=None):
        if self.conn is None:
            self.conn = pymysql.connect(host=self.host, port=self.port, user=USER, password=PASSWORD, connect_timeout=TIMEOUT,
                                        read_timeout=30, write_timeout=10, autocommit=True, cursorclass=pymysql.cursors.DictCursor)
        try:
            with self.conn.cursor() as c:
                c.execute(sql, args)
                return c.fetchall()
        except pymysql.err.OperationalError:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def probe(self):
        """(read_only, replication row or None), or None when unreachable."""
        try:
            self.q("SET SESSION wait_timeout = 60")  # also revives a dropped connection
            ro = int(self.q("SELECT @@global.read_only AS ro")[0]["ro"])
            rows = self.q("SHOW SLAVE STATUS" if MARIADB else "SHOW REPLICA STATUS")
            return ro, (rows[0] if rows else None)
        except pymysql.Error:
            self.close()
            return None


def io_running(row):
    return (row.get("Slave_IO_Running") or row.get("Replica_IO_Running")) == "Yes"


def source_of(row):
    """(host, port) a replica follows; None when it follows nobody."""
    if row is None:
        return None
    host = row.get("Master_Host") or row.get("Source_Host") or ""
    return (host, int(row.get("Master_Port") or row.get("Source_Port") or 0)) if host else None


def follows(row, node):
    return source_of(row) == (node.host, node.port)


def make_writable(node):
    if MARIADB:
        node.q("SET GLOBAL rpl_semi_sync_master_enabled = ON")
        node.q("SET GLOBAL read_only = OFF")
    else:
        node.q("SET GLOBAL rpl_semi_sync_source_enabled = ON")
        node.q("SET GLOBAL super_read_only = OFF")
        node.q("SET GLOBAL read_only = OFF")


def follow(node, master, former_master=False):
    """Make `node` a read-only replica of `master` by GTID; False (and node.errant) when it holds errant GTIDs."""
    if MARIADB:
        node.q("SET GLOBAL read_only = ON")
        node.q("STOP SLAVE")
        node.q("SET GLOBAL rpl_semi_sync_master_enabled = OFF")
        node.q(f"CHANGE MASTER TO MASTER_HOST = {quote(master.host)}, MASTER_PORT = {master.port}, MASTER_USER = {quote(REPL_USER)}, "
               f"MASTER_PASSWORD = {quote(REPL_PASSWORD)}, MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = 1")
        node.q("START SLAVE")
    else:
        node.q("SET GLOBAL super_read_only = ON")
        executed = node.q("SELECT @@global.gtid_executed AS g")[0]["g"]
        if not int(master.q("SELECT GTID_SUBSET(%s, @@global.gtid_executed) AS s", (executed,))[0]["s"]):
            node.errant = True
            log(f"{node.name} holds transactions {master.name} does not have (errant GTIDs); left read-only and out of routing: re-clone it")
            return False
        node.q("STOP REPLICA")
        node.q("SET GLOBAL rpl_semi_sync_source_enabled = OFF")
        node.q(f"CHANGE REPLICATION SOURCE TO SOURCE_HOST = {quote(master.host)}, SOURCE_PORT = {master.port}, SOURCE_USER = {quote(REPL_USER)}, "
               f"SOURCE_PASSWORD = {quote(REPL_PASSWORD)}, SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1, SOURCE_CONNECT_RETRY = 1, "
               "SOURCE_RETRY_COUNT = 86400, SOURCE_HEARTBEAT_PERIOD = 1")
        node.q("START REPLICA")
    log(f"{node.name} now replicates from {master.name}{' (former master rejoined)' if former_master else ''}")
    return True


def position(node):
    """Wait until `node` has applied everything it received; return a sortable position."""
    row = node.q("SHOW SLAVE STATUS" if MARIADB else "SHOW REPLICA STATUS")[0]  # after the IO thread stopped
    if MARIADB:
        node.q("SELECT MASTER_GTID_WAIT(%s, 10)", (row.get("Gtid_IO_Pos") or "",))
        return seq(node.q("SELECT @@global.gtid_slave_pos AS p")[0]["p"])
    node.q("SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, 10)", (row.get("Retrieved_Gtid_Set") or "",))
    executed = node.q("SELECT @@global.gtid_executed AS g")[0]["g"]
    # Transactions in the set: sum of interval lengths (one source UUID after a single master's life).
    total = 0
    for part in executed.replace("\n", "").split(","):
        for rng in part.split(":")[1:]:
            a, _, b = rng.partition("-")
            total += int(b or a) - int(a) + 1
    return total


def seq(gtids):
    """The highest sequence number in a MariaDB GTID list (one domain: seq_no grows across masters)."""
    return max((int(g.split("-")[2]) for g in (gtids or "").split(",") if g.strip().count("-") == 2), default=0)


def replicas_ahead(master, nodes, states):
    """MariaDB: replicas of `master` that received transactions beyond the master's own binlog."""
    if not MARIADB:
        return []
    try:
        mine = seq(master.q("SELECT @@global.gtid_binlog_pos AS p")[0]["p"])
    except pymysql.Error:
        return []
    return [n for n in nodes if n is not master and states.get(n) and follows(states[n][1], master)
            and seq(states[n][1].get("Gtid_IO_Pos")) > mine]


def promote(master, nodes, states):
    started = time.monotonic()
    candidates = [n for n in nodes if n is not master and not n.errant and states.get(n) and follows(states[n][1], master)]
    if not candidates:
        if master.fails == FAIL_AFTER:
            log(f"{master.name} is down and no replica of it is reachable: nothing to promote")
        return master
    ranked = []
    for n in candidates:
        try:
            n.q("STOP SLAVE IO_THREAD" if MARIADB else "STOP REPLICA IO_THREAD")
            ranked.append((position(n), n))
        except pymysql.Error as e:
            log(f"{n.name} could not be ranked: {e}")
    if not ranked:
        return master
    ranked.sort(key=lambda t: t[0], reverse=True)
    new = ranked[0][1]
    new.q("STOP SLAVE" if MARIADB else "STOP REPLICA")
    new.q("RESET SLAVE ALL" if MARIADB else "RESET REPLICA ALL")
    make_writable(new)
    log(f"promoted {new.name} (position {ranked[0][0]}) in place of {master.name} in {time.monotonic() - started:.2f} s")
    for _, n in ranked[1:]:
        try:
            follow(n, new)
        except pymysql.Error as e:
            log(f"{n.name} could not be pointed at {new.name} yet: {e}")
    return new


CLUSTER_TABLE = "b_cluster_dbnode"


def app_query(node, statements):
    """Runs (sql, args) pairs on `node` as the application login in its database; returns the last result."""
    conn = pymysql.connect(host=node.host, port=node.port, user=BITRIX["user"], password=APP_PASSWORD, database=BITRIX["database"],
                           connect_timeout=TIMEOUT, read_timeout=10, write_timeout=10, autocommit=True, cursorclass=pymysql.cursors.DictCursor)
    try:
        result = None
        with conn.cursor() as c:
            for sql, args in statements:
                c.execute(sql, args)
                result = c.fetchall()
        return result
    finally:
        conn.close()


def sync_cluster_rows(master, replicas):
    """Makes b_cluster_dbnode list exactly `replicas` among the managed servers; None when the table is absent, "no-main"
    without the module's row 1, else whether a row changed."""
    if not app_query(master, [("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                               (BITRIX["database"], CLUSTER_TABLE))]):
        return None
    # Row 1 is the module's own record of the main database (its install adds it; CClusterSlave and CClusterDBNode treat
    # node_id 1 as the kernel's own connection). Without it a replica would take ID 1 and be read as the master.
    if not app_query(master, [(f"SELECT 1 FROM {CLUSTER_TABLE} WHERE ID = 1", None)]):
        return "no-main"
    managed = {f"{n.host}:{n.port}": n for n in NODES}
    want = {f"{n.host}:{n.port}": n for n in replicas}
    rows = app_query(master, [(f"SELECT ID, ROLE_ID, NAME, ACTIVE, STATUS, SELECTABLE, WEIGHT, DB_HOST, DB_NAME, DB_LOGIN, DB_PASSWORD, "
                               f"MASTER_ID, MASTER_HOST, MASTER_PORT FROM {CLUSTER_TABLE} ORDER BY ID", None)])
    statements, seen = [], set()
    for r in rows:
        host = r["DB_HOST"]
        if host not in managed:
            continue  # rows of servers this cluster does not manage (the module's own node 1, module databases) stay
        if host not in want or host in seen:
            statements.append((f"DELETE FROM {CLUSTER_TABLE} WHERE ID = %s", (r["ID"],)))
            log(f"{CLUSTER_TABLE}: row {r['ID']} ({host}) removed: {managed[host].name} is not a replica of {master.name}")
            continue
        seen.add(host)
        fields = row_fields(want[host], master)
        if any(str(r.get(k) if r.get(k) is not None else "") != str(v) for k, v in fields.items()):
            statements.append((f"UPDATE {CLUSTER_TABLE} SET {', '.join(f'{k} = %s' for k in fields)} WHERE ID = %s", (*fields.values(), r["ID"])))
            log(f"{CLUSTER_TABLE}: row {r['ID']} ({host}) updated")
    for host, n in want.items():
        if host not in seen:
            fields = row_fields(n, master)
            statements.append((f"INSERT INTO {CLUSTER_TABLE} ({', '.join(fields)}) VALUES ({', '.join(['%s'] * len(fields))})", tuple(fields.values())))
            log(f"{CLUSTER_TABLE}: {n.name} ({host}) registered as a replica of {master.name}")
    if statements:
        app_query(master, statements)
    return bool(statements)


def row_fields(node, master):
    return {
        "ACTIVE": "Y", "ROLE_ID": "SLAVE", "NAME": node.name, "STATUS": "ONLINE", "SELECTABLE": "Y", "WEIGHT": BITRIX.get("weight", 100),
        "DB_HOST": f"{node.host}:{node.port}", "DB_NAME": BITRIX["database"], "DB_LOGIN": BITRIX["user"], "DB_PASSWORD": APP_PASSWORD,
        # GetStatus reads SHOW SLAVE STATUS (lag, errors) only for a row with a MASTER_ID; 1 is the kernel's own connection.
        "MASTER_ID": 1, "MASTER_HOST": master.host, "MASTER_PORT": master.port,
    }


def resp(sock, *args):
    """One Redis command over RESP; returns the reply (bytes, int, list or None); raises on an error reply."""
    sock.sendall(b"".join([f"*{len(args)}\r\n".encode()] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() if isinstance(x, str) else x for x in args)]))
    f = sock.makefile("rb")

    def read():
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [read() for _ in range(n)]
        raise RuntimeError(f"unexpected Redis reply {line!r}")
    return read()


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def clear_kernel_cache():
    """Drops the kernel's managed cache of b_cluster_dbnode (GetList's "db_slaves_v2", GetByID's "db_nodes") from the
    Redis cache engine, as ManagedCache::cleanDir("b_cluster_dbnode") would: main's CacheEngine (24.0+) keeps the
    entries of a directory in the set "<sid>|v1||<dir>|bx_dir_list|" (and one set per partition), and reads an entry
    only while its name is in them, with dir = sha1(<base dir version> | sha1("/bitrix/managed_cache/|MYSQL/b_cluster_dbnode")).
    Returns what it did, for the log."""
    cache = BITRIX.get("cache")
    if not cache:
        return "no cache configured"
    sid = cache["sid"] + "|v1|"
    base = "/bitrix/managed_cache/"
    for spec in cache["nodes"]:
        try:
            with socket.create_connection((spec["host"], spec["port"]), timeout=TIMEOUT) as sock:
                if REDIS_PASSWORD:
                    resp(sock, "AUTH", REDIS_PASSWORD)
                if resp(sock, "ROLE")[0] != b"master":
                    continue
                stored = resp(sock, "GET", f"{sid}|base_dir|{sha1(base)}")
                if stored is None:
                    return "nothing cached"
                # The engine's values go through phpredis' PHP serializer (cache.value.serializer = 1): s:40:"…";
                m = re.fullmatch(rb's:\d+:"(.*)";', stored)
                version = (m.group(1) if m else stored).decode()
                listing = f"{sid}|{sha1(version + '|' + sha1(base + '|MYSQL/' + CLUSTER_TABLE))}|bx_dir_list|"
                partitions = resp(sock, "SMEMBERS", listing) or []
                resp(sock, "DEL", listing, *[listing.encode() + p for p in partitions])
                return f"cleared ({len(partitions)} partitions)"
        except (OSError, RuntimeError, IndexError, TypeError) as e:
            log(f"kernel cache on {spec['host']}:{spec['port']}: {e}")
    return "no Redis master reachable"


def sync_bitrix(master, nodes, states, state):
    """Keeps b_cluster_dbnode true for the current master; returns the status line for the beat file."""
    replicas = [n for n in nodes if n is not master and not n.errant and states.get(n) and follows(states[n][1], master)]
    key = (master.name, tuple(n.name for n in replicas))
    if key == state.get("key") and time.monotonic() < state.get("next", 0):
        return state.get("status", "")
    try:
        changed = sync_cluster_rows(master, replicas)
    except pymysql.Error as e:
        log(f"{CLUSTER_TABLE}: could not sync on {master.name}: {e}")
        return state.get("status", "")
    if changed is None or changed == "no-main":
        status = (f"{CLUSTER_TABLE} absent: the cluster module is not installed, Bitrix reads from the master only" if changed is None else
                  f"{CLUSTER_TABLE} has no row 1 (the cluster module's main database): replicas not registered, Bitrix reads from the master only")
        if state.get("status") != status:
            log(status)
    else:
        status = f"{CLUSTER_TABLE}: {len(replicas)} replica row(s)"
        if changed or state.get("dirty"):
            outcome = clear_kernel_cache()
            state["dirty"] = outcome.startswith("no Redis")
            log(f"{CLUSTER_TABLE} changed; kernel cache of it: {outcome}")
    state.update(key=key, next=time.monotonic() + BITRIX.get("syncEveryS", 10), status=status)
    return status


def main():
    # In its container the manager is PID 1, for which the kernel ignores SIGTERM unless a handler is set: `docker stop`
    # then waited its whole timeout and killed it (30 s of a physical restore's 38 s). It keeps no state: just exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    os.makedirs(os.path.dirname(BEAT), exist_ok=True)
    global NODES
    nodes = NODES = [Node(s) for s in CFG["nodes"]]
    master = nodes[0]
    bitrix_state = {}
    log(f"watching {', '.join(f'{n.name} ({n.host}:{n.port})' for n in nodes)}; failover after {FAIL_AFTER} failed checks every {INTERVAL} s")
    while True:
        tick = time.monotonic()
        states = {n: n.probe() for n in nodes}
        writers = [n for n in nodes if states[n] and states[n][0] == 0]
        if writers:
            keep = master if master in writers else writers[0]
            for w in writers:
                if w is not keep:
                    log(f"{w.name} is writable besides {keep.name}: setting it read-only")
                    try:
                        w.q("SET GLOBAL read_only = ON")
                    except pymysql.Error as e:
                        log(f"could not fence {w.name}: {e}")
            if keep is not master:
                log(f"{keep.name} is the writable server: following it as master")
            master = keep
            master.fails = 0
        elif states[master] is not None:
            # The master is up but read-only: it (re)started. A server that replicates is not opened.
            if source_of(states[master][1]) is None:
                ahead = replicas_ahead(master, nodes, states)
                if ahead:
                    # It restarted before a failover and truncated what no replica acknowledged (init_rpl_role =
                    # SLAVE), but a replica had received more: reopening it would strand that replica. Hand over.
                    log(f"{master.name} came back behind {', '.join(n.name for n in ahead)}: promoting instead of reopening it")
                    master = promote(master, nodes, states)
                else:
                    try:
                        make_writable(master)
                        log(f"{master.name} opened for writes")
                    except pymysql.Error as e:
                        log(f"could not open {master.name}: {e}")
            else:
                others = [n for n in nodes if n is not master and states[n] and source_of(states[n][1]) is None]
                if others:
                    log(f"{others[0].name} is up and replicates from nobody: it is the master")
                    master = others[0]
        else:
            master.fails += 1
            replicas = [n for n in nodes if n is not master and states[n] and follows(states[n][1], master)]
            still = [n.name for n in replicas if io_running(states[n][1])]
            if master.fails >= FAIL_AFTER and not still:
                log(f"{master.name} unreachable for {master.fails} checks and no replica reaches it: failing over")
                master = promote(master, nodes, states)
            elif master.fails == FAIL_AFTER:
                log(f"{master.name} unreachable from here, but {', '.join(still)} still replicate from it: waiting")
        # Servers that came back, or still point at a former master, follow the current one.
        master_up = states[master] is not None and states[master][0] == 0
        for n in nodes:
            st = states[n]
            if n is master or n.errant or st is None or not master_up:
                continue
            row = st[1]
            if not follows(row, master):
                try:
                    follow(n, master, former_master=row is None)
                except pymysql.Error as e:
                    log(f"{n.name} could not follow {master.name}: {e}")
            elif (row.get("Last_IO_Errno") or 0) == 1236:
                n.errant = True
                log(f"{n.name} cannot follow {master.name}: {row.get('Last_IO_Error')}; left read-only and out of routing: re-clone it")
        status = sync_bitrix(master, nodes, states, bitrix_state) if BITRIX and master_up else ""
        with open(BEAT, "w") as f:
            f.write(master.name + "\n" + (status + "\n" if status else ""))
        time.sleep(max(0.0, INTERVAL - (time.monotonic() - tick)))


if __name__ == "__main__":
    main()
