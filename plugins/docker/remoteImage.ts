/** `docker.RemoteImage`: an image from a registry, pulled unless the engine has it already (as upstream). */
import { ResourceType } from "../provider";
import { engine, ignoreNotFound } from "./engine";

async function pull(name: string): Promise<void> {
    const stream = await engine.pull(name);
    await new Promise((resolve, reject) => engine.modem.followProgress(stream, (err: Error | null, res: any[]) => (err ? reject(err) : resolve(res))));
}

async function outputs(name: string) {
    const info = await engine.getImage(name).inspect();
    return { imageId: info.Id, repoDigest: info.RepoDigests?.[0] ?? "" };
}

export const remoteImage: ResourceType = {
    token: "docker:index/remoteImage:RemoteImage",
    inputs: { name: "string", keepLocally: "boolean", forceRemove: "boolean", pullTriggers: { array: "string" } },
    replaceOn: ["name", "pullTriggers"],
    validate: (i) => i.name ? [] : [{ property: "name", reason: "name is required" }],
    async create(i) {
        if (!(await ignoreNotFound(() => engine.getImage(i.name).inspect()))) await pull(i.name);
        const outs = await outputs(i.name);
        return { id: `${outs.imageId}${i.name}`, outs };
    },
    async read(_id, state) {
        return (await ignoreNotFound(() => engine.getImage(state.name).inspect())) && outputs(state.name);
    },
    update: async (_id, _olds, news) => outputs(news.name),
    async delete(_id, state) {
        if (!state.keepLocally) await ignoreNotFound(() => engine.getImage(state.name).remove({ force: state.forceRemove ?? false }));
    },
};
