/**
 * The test push server (tests/fixtures/push-server) as the user supplies it: an image for Docker stacks, and a
 * tarball built from that image for hosts stacks (docs/push.md, "The push server tarball"): `start`, `server.js`
 * and, in node_modules, the modules Debian's node-ws and node-redis install (the hosts get Node.js only).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectDir } from "./pulumiStack";

/** Builds the fixture's image under `tag`. */
export function buildPushFixtureImage(tag: string): void {
    execFileSync("docker", ["build", "-q", "-t", tag, path.join(projectDir(), "tests", "fixtures", "push-server")], {
        stdio: "pipe",
        timeout: 10 * 60_000,
    });
}

/**
 * Writes the fixture's tarball, made in its image, to `file`; `extra` is one more top-level file (name and text), to
 * make a tarball with another digest.
 */
export function writePushFixtureTarball(image: string, file: string, extra?: { name: string; text: string }): void {
    const script = [
        "set -e",
        "d=$(mktemp -d)",
        'cp /opt/push-fixture/server.js /opt/push-fixture/start "$d"/',
        'cp -rL /usr/share/nodejs "$d/node_modules"',
        'if [ -n "$1" ]; then printf %s "$2" > "$d/$1"; fi',
        'tar -C "$d" -czf - .',
    ].join("\n");
    const tarball = execFileSync("docker", ["run", "--rm", image, "sh", "-c", script, "sh", extra?.name ?? "", extra?.text ?? ""], {
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 256 << 20,
        timeout: 5 * 60_000,
    });
    fs.writeFileSync(file, tarball);
}
