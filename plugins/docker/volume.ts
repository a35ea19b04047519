/** `docker.Volume`: a named volume (every argument forces replacement, as upstream). */
import { ResourceType } from "../provider";
import { engine, ignoreNotFound, labelMap, labelsShape, sleep } from "./engine";

export const volume: ResourceType = {
    token: "docker:index/volume:Volume",
    inputs: { name: "string", driver: "string", driverOpts: { map: "string" }, labels: labelsShape },
    replaceOn: "all",
    defaults: { driver: "local" },
    async create(i) {
        const created = await engine.createVolume({ Name: i.name, Driver: i.driver, DriverOpts: i.driverOpts, Labels: labelMap(i.labels) });
        const info = await created.inspect();
        return { id: info.Name, outs: { name: info.Name, mountpoint: info.Mountpoint } };
    },
    async read(id) {
        const info = await ignoreNotFound(() => engine.getVolume(id).inspect());
        return info && { name: info.Name, mountpoint: info.Mountpoint };
    },
    async delete(id) {
        // A volume stays "in use" until its container is gone; upstream retries the same way.
        for (let attempt = 0; ; attempt++) {
            try {
                await ignoreNotFound(() => engine.getVolume(id).remove());
                return;
            } catch (e) {
                if ((e as { statusCode?: number }).statusCode !== 409 || attempt >= 60) throw e;
                await sleep(500);
            }
        }
    },
};
