/**
 * `npm run drill -- balancer|web-node --stack <name>`: runs a failure drill against a live stack and prints a table and
 * one JSON line with the figures; exits 1 when a step misses its goal. Through scripts/drill.sh (builds, finds
 * pulumi). Drills act on the stack's Docker containers: placement docker only.
 */
import { execFileSync } from "child_process";
import { balancerDrill, drillTable } from "./drill/balancerDrill";
import { webNodeDrill } from "./drill/webNodeDrill";

const DRILLS = ["balancer", "web-node"];

function arg(argv: string[], name: string): string | undefined {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
    const [drill] = argv;
    const stack = arg(argv, "stack");
    if (!stack || !DRILLS.includes(drill)) throw new Error(`usage: drill ${DRILLS.join("|")} --stack <name>`);
    const outputs = JSON.parse(execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8" }));
    if (outputs.placement !== "docker") throw new Error(`drill: stack ${stack} has placement ${outputs.placement}; the drills stop and start Docker containers, so they need placement docker`);
    if (drill === "web-node") {
        const base = outputs.url.replace(/\/$/, "");
        const r = await webNodeDrill({
            base, statusUrl: outputs.statusUrls[0], container: `${outputs.namePrefix}-web-1`, server: "web-1",
            log: (line) => process.stderr.write(`${line}\n`),
        });
        console.log(`web-1 killed: ${r.failed}/${r.requests} failed (${r.failedInFlight} in flight), gap ${r.gapS} s, DOWN at the balancer after ${r.ejectionS} s, ` +
            `pinned session ${r.session.before} → ${r.session.after} on ${r.session.nodeAfter}, UP again ${r.backS} s after start: ${r.pass ? "pass" : "FAIL"}`);
        console.log(JSON.stringify({ drill, stack, ...r }));
        return r.pass ? 0 : 1;
    }
    if (!outputs.floatingAddress) throw new Error(`drill balancer: stack ${stack} has one balancer; set balancers to 2 or more`);
    const containers = (outputs.statusUrls as string[]).map((_, i) => `${outputs.namePrefix}-balancer-${i + 1}`);
    const steps = await balancerDrill({
        floatingAddress: outputs.floatingAddress, containers, url: `https://${outputs.floatingAddress}/probe/?action=node`,
        log: (line) => process.stderr.write(`${line}\n`),
    });
    console.log(drillTable(steps));
    console.log(JSON.stringify({ drill, stack, steps }));
    return steps.every((s) => s.pass) ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
});
