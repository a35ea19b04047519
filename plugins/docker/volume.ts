/** `docker.Volume`: a named volume (every argument forces replacement, as upstream). */
import { ResourceType } from "../provider";
import { engine, ignoreNotFound, labelMap, labelsShape, removeWhenFree } from "./engine";

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
        await removeWhenFree(() => engine.getVolume(id).remove());
    },
};
