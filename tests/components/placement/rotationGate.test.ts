import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { rotationGateScript } from "../../../components/placement/rotationGate";

/**
 * Runs the generated gate with a stand-in `docker` on PATH. `states` is read per balancer and per call: the n-th
 * status request gets the n-th state (the last repeats); "stopped" means the container is not running.
 */
function runGate(states: Record<string, string[]>, timeoutS = 20, brokenDocker = false) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
    if (brokenDocker) fs.writeFileSync(path.join(dir, "broken"), "");
    for (const [b, list] of Object.entries(states)) fs.writeFileSync(path.join(dir, `${b}.states`), list.join("\n") + "\n");
    fs.writeFileSync(
        path.join(dir, "docker"),
        `#!/bin/sh
# docker container inspect -f '{{.State.Running}}' <b> | docker exec <b> curl ... ;csv
[ -f "${dir}/broken" ] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
b=$([ "$1" = container ] && echo "$5" || echo "$2")
f="${dir}/$b.states"; n="${dir}/$b.n"
[ -f "$f" ] || { echo "Error response from daemon: No such container: $b" >&2; exit 1; }
c=$(( $(cat "$n" 2>/dev/null || echo 0) + 1 ))
state=$(sed -n "\${c}p" "$f"); [ -n "$state" ] || state=$(tail -n1 "$f")
if [ "$1" = container ]; then [ "$state" = stopped ] && echo false || echo true; exit 0; fi
echo "$c" > "$n"
echo "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status"
echo "web,FRONTEND,,,0,0,0,0,0,0,0,0,0,,,,,OPEN"
[ "$state" = unlisted ] || echo "web,web-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,$state"
echo "web,web-1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP"
`,
        { mode: 0o755 },
    );
    const script = rotationGateScript({ server: "web-2", balancers: ["bx-balancer-1", "bx-balancer-2"], statusPort: 8404, timeoutS });
    const t0 = Date.now();
    const r = spawnSync("/bin/sh", ["-c", script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
    const calls = (b: string) => Number(fs.existsSync(path.join(dir, `${b}.n`)) ? fs.readFileSync(path.join(dir, `${b}.n`), "utf8") : 0);
    const out = {
        status: r.status,
        stdout: r.stdout.trim(),
        stderr: r.stderr.trim(),
        seconds: (Date.now() - t0) / 1000,
        calls1: calls("bx-balancer-1"),
        calls2: calls("bx-balancer-2"),
    };
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
}

describe("rotationGateScript", () => {
    it("waits until every running balancer reports the node UP (DOWN, MAINT and UP n/m are not)", () => {
        const r = runGate({ "bx-balancer-1": ["MAINT (resolution)", "DOWN 1/2", "UP"], "bx-balancer-2": ["DOWN", "UP 1/3", "UP"] });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "web-2 UP on 2 balancer(s)");
        assert.equal(r.calls1, 3);
        assert.equal(r.calls2, 3);
    });

    it("has nothing to wait for on the first `pulumi up` (no balancer yet) or when a balancer does not list the node yet", () => {
        const none = runGate({});
        assert.equal(none.status, 0, none.stderr);
        assert.equal(none.stdout, "web-2 UP on 0 balancer(s)");
        const added = runGate({ "bx-balancer-1": ["unlisted"], "bx-balancer-2": ["stopped"] });
        assert.equal(added.status, 0, added.stderr);
        assert.equal(added.calls1, 1);
        assert.equal(added.calls2, 0, "a stopped balancer is not asked");
    });

    it("never takes a docker failure for an absent balancer: it waits, then fails naming it", () => {
        const r = runGate({}, 1, true);
        assert.equal(r.status, 1, r.stdout);
        assert.equal(r.stderr, "rotation gate: web-2 not UP within 1 s: bx-balancer-1:docker-error bx-balancer-2:docker-error");
    });

    it("fails after its timeout, naming the balancer and the state it saw", () => {
        const r = runGate({ "bx-balancer-1": ["UP"], "bx-balancer-2": ["DOWN"] }, 1);
        assert.equal(r.status, 1);
        assert.equal(r.stderr, "rotation gate: web-2 not UP within 1 s: bx-balancer-2:DOWN");
        assert.ok(r.seconds < 5, `${r.seconds} s`);
    });
});
