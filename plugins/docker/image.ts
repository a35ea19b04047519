/**
 * `docker.Image` (native in the official plugin since v4): builds `build.context` into `imageName` on the local
 * engine. Check records a digest of the build context, so editing any file under it rebuilds the image; the local
 * image ID is `repoDigest`, which changes, and so replaces, the containers that run it.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ResourceType } from "../provider";
import { hasUnknown, plain } from "../values";
import { engine } from "./engine";

/** Upstream's default `build.platform`: the engine host's own. */
export const NATIVE_PLATFORM = `linux/${({ x64: "amd64", arm64: "arm64", arm: "arm" } as Record<string, string>)[process.arch] ?? process.arch}`;

/** Files of a build context, relative, sorted (a `.dockerignore` is not supported and fails the check). */
export function contextFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const p = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) walk(p);
            else out.push(p);
        }
    };
    walk("");
    return out.sort();
}

/** sha256 over every context file's path, mode and content, plus the Dockerfile's name. */
export function contextDigest(dir: string, dockerfile = "Dockerfile"): string {
    const hash = createHash("sha256").update(`dockerfile:${dockerfile}\n`);
    for (const f of contextFiles(dir)) {
        const full = path.join(dir, f);
        hash.update(`${f}\0${fs.statSync(full).mode & 0o777}\0`).update(fs.readFileSync(full)).update("\0");
    }
    return `sha256:${hash.digest("hex")}`;
}

async function build(i: any): Promise<string> {
    const b = i.build ?? {};
    const context = path.resolve(b.context ?? ".");
    const stream = await engine.buildImage({ context, src: contextFiles(context) }, {
        t: i.imageName, dockerfile: b.dockerfile ?? "Dockerfile", buildargs: b.args, target: b.target,
        // Only a foreign platform is passed: engines without multi-platform support refuse the option.
        platform: b.platform === NATIVE_PLATFORM ? undefined : b.platform,
        rm: true, forcerm: true,
    });
    const events: any[] = await new Promise((resolve, reject) =>
        engine.modem.followProgress(stream, (err: Error | null, res: any[]) => (err ? reject(err) : resolve(res))));
    const failed = events.find((e) => e.error || e.errorDetail);
    if (failed) {
        const log = events.map((e) => e.stream ?? "").join("").split("\n").slice(-30).join("\n");
        throw new Error(`building ${i.imageName} from ${context} failed: ${failed.error ?? failed.errorDetail?.message}\n${log}`);
    }
    return (await engine.getImage(i.imageName).inspect()).Id;
}

async function outputs(i: any): Promise<Record<string, unknown>> {
    const b = i.build ?? {};
    return {
        imageName: i.imageName, repoDigest: await build(i), baseImageName: i.imageName, registryServer: "",
        context: b.context ?? ".", dockerfile: b.dockerfile ?? "Dockerfile", platform: b.platform,
    };
}

export const image: ResourceType = {
    token: "docker:index/image:Image",
    inputs: {
        imageName: "string", skipPush: "boolean", buildOnPreview: "boolean",
        build: { object: { context: "string", dockerfile: "string", args: { map: "string" }, target: "string", platform: "string", contextDigest: "string" } },
    },
    replaceOn: [],
    defaults: { skipPush: false },
    validate(i) {
        const failures = [];
        if (!i.imageName) failures.push({ property: "imageName", reason: "imageName is required" });
        if (!i.skipPush) failures.push({ property: "skipPush", reason: "pushing to a registry is not implemented by this offline plugin; set skipPush: true" });
        const context = i.build?.context ?? ".";
        if (!fs.existsSync(path.join(context, i.build?.dockerfile ?? "Dockerfile"))) {
            failures.push({ property: "build.context", reason: `no ${i.build?.dockerfile ?? "Dockerfile"} in ${path.resolve(context)}` });
        } else if (fs.existsSync(path.join(context, ".dockerignore"))) {
            failures.push({ property: "build.context", reason: ".dockerignore is not implemented by this offline plugin" });
        }
        return failures;
    },
    normalize(news) {
        // Like the official plugin, the context's digest becomes part of the inputs, so a changed file is a diff.
        const b = plain<any>(news.build);
        if (!b || hasUnknown(news.build) || !fs.existsSync(b.context ?? ".")) return news;
        return { ...news, build: { platform: NATIVE_PLATFORM, ...news.build, contextDigest: contextDigest(b.context ?? ".", b.dockerfile) } };
    },
    async create(i) {
        // Upstream's id is the image name; the local image ID is repoDigest.
        return { id: i.imageName, outs: await outputs(i) };
    },
    async read() {
        // Upstream echoes the state without asking the engine.
        return {};
    },
    update: async (_id, _olds, news) => outputs(news),
    async delete() {
        // The official plugin leaves built images in the local engine (containers of other stacks may use them).
    },
};
