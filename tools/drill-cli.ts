/**
 * `npm run drill -- balancer --stack <name>`: runs a failure drill against a live stack and prints a table and
 * one JSON line with the figures; exits 1 when a step misses its goal. Through scripts/drill.sh (builds, finds
 * pulumi). Drills act on the stack's Docker containers: placement docker only.
 */
import { execFileSync } from "child_process";
import { balancerDrill, drillTable } from "./drill/balancerDrill";

const DRILLS = ["balancer"];

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
