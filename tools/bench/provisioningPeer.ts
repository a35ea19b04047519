/**
 * The benchmark's provisioning peer row: the same containers brought up by `docker-compose up -d` from a compose
 * copy of the stack (composeFile.ts), timed until every service is up (healthy where it has a health check), then a
 * second `up -d` on the running copy (compose's no-op), then `docker-compose down -v` and a check that nothing of it
 * remains. Runs after the stack's `pulumi destroy`: the copy takes the stack's names, subnet, addresses and ports.
 * The compose directory (it holds the stack's secrets) is a 0700 temp directory, deleted afterwards; no value of the
 * file is ever printed.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { docker } from "../drill/docker";
import { composeCopy } from "./composeFile";
import { untilReady } from "./readiness";

/** Goal of the row: cold `pulumi up` at most this many times `docker-compose up -d` of the same containers. */
export const PROVISIONING_GOAL_RATIO = 1.3;

export interface ProvisioningPeer {
    /** Cold `pulumi up` until every container is up: Pulumi's own seconds plus `coldWaitS`. */
    coldUpS: number;
    /** Seconds between `pulumi up` returning and every container being up (0 when Pulumi already waited for all). */
    coldWaitS: number;
    /** `docker-compose up -d` of the copy until every service is up. */
    composeUpS: number;
    /** Of that, the seconds after `up -d` returned. */
    composeWaitS: number;
    /** No-op `pulumi up` of the stack. */
    noopUpS: number;
    /** `docker-compose up -d` on the running copy. */
    composeNoopS: number;
    /** coldUpS / composeUpS. */
    ratio: number;
    services: number;
    /** What the copy has no equivalent for ("command:local:Command × 2"). */
    leftOut: string[];
    /** Containers, networks or volumes of the copy still there after `down -v` (none expected). */
    leftover: string[];
}

const round = (s: number) => Math.round(s * 1000) / 1000;

function compose(dir: string, project: string, args: string[]): Promise<number> {
    const t0 = performance.now();
    return new Promise((resolve, reject) =>
        execFile(
            "docker-compose",
            ["--no-ansi", "-p", project, "-f", path.join(dir, "docker-compose.yml"), ...args],
            { cwd: dir, maxBuffer: 64 << 20, timeout: 15 * 60_000, env: { ...process.env, COMPOSE_HTTP_TIMEOUT: "300" } },
            (err, _stdout, stderr) => {
                // compose's own messages (service names, states); the file's values are never echoed by it.
                if (err) reject(new Error(`docker-compose ${args.join(" ")} failed: ${stderr.trim().split("\n").slice(-8).join("\n")}`));
                else resolve(round((performance.now() - t0) / 1000));
            },
        ),
    );
}

/** Writes the compose copy into a new 0700 directory: docker-compose.yml (0600) and the uploads with their modes. */
export function writeComposeDir(copy: ReturnType<typeof composeCopy>, parent = os.tmpdir()): string {
    const dir = fs.mkdtempSync(path.join(parent, "bx-compose-"));
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(path.join(dir, "docker-compose.yml"), copy.text, { mode: 0o600 });
    for (const u of copy.uploads) {
        const file = path.join(dir, u.path);
        if (!file.startsWith(`${dir}${path.sep}`)) throw new Error(`compose copy: ${u.path} lies outside the compose directory`);
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
        fs.writeFileSync(file, u.content, { mode: u.mode });
        fs.chmodSync(file, u.mode); // the umask narrowed the mode given at creation
    }
    return dir;
}

/** What of the copy is still on the engine: containers, networks and volumes by name. */
async function leftovers(copy: ReturnType<typeof composeCopy>): Promise<string[]> {
    const lines = async (args: string[]) => (await docker(args)).split("\n").filter(Boolean);
    const containers = new Set(await lines(["ps", "-a", "--format", "{{.Names}}"]));
    const networks = new Set(await lines(["network", "ls", "--format", "{{.Name}}"]));
    const volumes = new Set(await lines(["volume", "ls", "--format", "{{.Name}}"]));
    return [
        ...Object.keys(copy.file.services).filter((n) => containers.has(n)),
        ...Object.keys(copy.file.networks).filter((n) => networks.has(n)),
        ...Object.keys(copy.file.volumes).filter((n) => volumes.has(n)),
    ];
}

/**
 * Brings up the compose copy of `exported` (the stack's `pulumi stack export --show-secrets`, parsed), times it,
 * takes it down. `pulumi` holds the stack's figures measured the same way.
 */
export async function provisioningPeer(args: {
    exported: unknown;
    project: string;
    pulumi: { coldUpS: number; coldWaitS: number; noopUpS: number };
    log: (line: string) => void;
}): Promise<ProvisioningPeer> {
    const copy = composeCopy(args.exported);
    const services = Object.keys(copy.file.services);
    const before = await leftovers(copy);
    if (before.length) throw new Error(`compose copy: ${before.join(", ")} still exist(s); the stack was not destroyed`);
    const dir = writeComposeDir(copy);
    let result: ProvisioningPeer | undefined;
    try {
        args.log(`benchmark: docker-compose up -d of the compose copy (${services.length} services)`);
        const upS = await compose(dir, args.project, ["up", "-d"]);
        const composeWaitS = await untilReady(services);
        const composeUpS = round(upS + composeWaitS);
        const composeNoopS = await compose(dir, args.project, ["up", "-d"]);
        const coldUpS = round(args.pulumi.coldUpS + args.pulumi.coldWaitS);
        result = {
            coldUpS,
            coldWaitS: args.pulumi.coldWaitS,
            composeUpS,
            composeWaitS,
            noopUpS: args.pulumi.noopUpS,
            composeNoopS,
            ratio: Math.round((coldUpS / composeUpS) * 100) / 100,
            services: services.length,
            leftOut: copy.leftOut,
            leftover: [],
        };
    } finally {
        args.log("benchmark: docker-compose down -v");
        await compose(dir, args.project, ["down", "-v", "--remove-orphans", "--timeout", "20"]).catch((e) => args.log(String(e)));
        fs.rmSync(dir, { recursive: true, force: true });
        const left = await leftovers(copy);
        if (left.length) args.log(`benchmark: the compose copy left ${left.join(", ")} behind`);
        if (result) result.leftover = left;
    }
    return result;
}

/** The table rows of the provisioning peer. */
export function provisioningRows(p: ProvisioningPeer | { error: string }): string[] {
    if ("error" in p) return [`| cold \`pulumi up\` vs \`docker-compose up -d\` | did not finish: ${p.error} | **missed** |`];
    const mark = p.ratio <= PROVISIONING_GOAL_RATIO ? "met" : "**missed**";
    const wait = p.coldWaitS > 0 ? ` (${p.coldWaitS} s of it after \`pulumi up\` returned)` : "";
    return [
        `| cold \`pulumi up\` vs \`docker-compose up -d\` (same ${p.services} containers, until healthy) | ${p.coldUpS} s${wait} vs ${p.composeUpS} s, ${p.ratio.toFixed(2)}× | ≤ ${PROVISIONING_GOAL_RATIO}×: ${mark} |`,
        `| no-op \`pulumi up\` vs \`docker-compose up -d\` on the running copy | ${p.noopUpS} s vs ${p.composeNoopS} s | |`,
        ...(p.leftover.length ? [`| compose copy left behind after \`down -v\` | ${p.leftover.join(", ")} | nothing: **missed** |`] : []),
    ];
}
