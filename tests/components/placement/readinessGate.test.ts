import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { READINESS_POLL_S, readinessDeadlineS, readinessGateScript } from "../../../components/placement/readinessGate";
import { HealthSpec } from "../../../components/placement/types";

const health: HealthSpec = { command: "test -f /run/ok && echo 'it''s up'", intervalS: 5, timeoutS: 2, retries: 3, startPeriodS: 10 };

/**
 * Runs the generated gate with a stand-in `docker` on PATH: `states` is the container's state per inspect call (the
 * last repeats; "error" makes the CLI fail), and the exec'd check passes from its `passFrom`-th run on.
 */
function runGate(states: string[], passFrom: number, timeoutS = 20) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ready-"));
    fs.writeFileSync(path.join(dir, "states"), states.join("\n") + "\n");
    fs.writeFileSync(
        path.join(dir, "docker"),
        `#!/bin/sh
if [ "$1" = container ]; then
    c=$(( $(cat "${dir}/inspects" 2>/dev/null || echo 0) + 1 )); echo "$c" > "${dir}/inspects"
    state=$(sed -n "\${c}p" "${dir}/states"); [ -n "$state" ] || state=$(tail -n1 "${dir}/states")
    [ "$state" = error ] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
    echo "$state"; exit 0
fi
# docker exec <container> /bin/sh -c <command>
printf '%s\\n' "$*" > "${dir}/exec-args"
n=$(( $(cat "${dir}/execs" 2>/dev/null || echo 0) + 1 )); echo "$n" > "${dir}/execs"
[ "$n" -ge ${passFrom} ]
`,
        { mode: 0o755 },
    );
    const script = readinessGateScript({ container: "bx-prod-db-master", health, timeoutS });
    const r = spawnSync("/bin/sh", ["-c", script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" });
    const count = (f: string) => Number(fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : 0);
    const out = {
        status: r.status,
        stdout: r.stdout.trim(),
        stderr: r.stderr.trim(),
        inspects: count("inspects"),
        execs: count("execs"),
        execArgs: fs.existsSync(path.join(dir, "exec-args")) ? fs.readFileSync(path.join(dir, "exec-args"), "utf8").trim() : "",
    };
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
}

describe("readinessGateScript", () => {
    it("is valid sh and runs the health command through /bin/sh -c in the container, quoted", () => {
        const script = readinessGateScript({ container: "bx-prod-db-master", health });
        execFileSync("sh", ["-n"], { input: script });
        assert.match(script, /^c='bx-prod-db-master'$/m);
        assert.ok(
            script.includes(`timeout -k 1 2 docker exec "$c" /bin/sh -c 'test -f /run/ok && echo '\\''it'\\'''\\''s up'\\'''`),
            script,
        );
        assert.match(script, new RegExp(`sleep ${READINESS_POLL_S}\\n`));
        // The provider's former waitTimeout is the floor.
        assert.match(script, /deadline=\$\(\( start \+ 180 \)\)/);
    });

    it("polls the check until it first passes, and says how many checks that took", () => {
        const r = runGate(["running"], 4);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.execs, 4);
        assert.match(r.stdout, /^bx-prod-db-master ready after \d+ s \(4 checks\)$/);
        assert.equal(r.execArgs, "exec bx-prod-db-master /bin/sh -c test -f /run/ok && echo 'it''s up'");
    });

    it("does not exec into a container that is not running yet, or when docker fails; it waits for both", () => {
        const r = runGate(["created", "error", "restarting", "running"], 1);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.inspects, 4);
        assert.equal(r.execs, 1);
        assert.match(r.stdout, /\(4 checks\)$/);
    });

    it("fails at its deadline naming the container and the last state, without printing the check's output", () => {
        const r = runGate(["running"], 1000, 1);
        assert.equal(r.status, 1);
        assert.ok(r.execs > 1, `${r.execs} checks`);
        assert.match(
            r.stderr,
            /^readiness: bx-prod-db-master not ready within 1 s \(\d+ checks, last state running\); see: docker logs bx-prod-db-master$/,
        );
        assert.equal(r.stdout, "");
        const stopped = runGate(["exited"], 1, 1);
        assert.equal(stopped.status, 1);
        assert.equal(stopped.execs, 0);
        assert.match(stopped.stderr, /last state exited\)/);
    });
});

describe("readinessDeadlineS", () => {
    it("is Docker's own verdict (start period, then retries + 1 intervals), with a floor", () => {
        assert.equal(readinessDeadlineS(health), 30);
        assert.equal(readinessDeadlineS({ intervalS: 5, retries: 5, startPeriodS: 120 }), 150);
        assert.equal(readinessDeadlineS(health, 180), 180);
        assert.equal(readinessDeadlineS({ intervalS: 5, retries: 5, startPeriodS: 300 }, 180), 330);
    });
});
