/** `docker.Network`: a user-defined network with its own IPAM (every argument forces replacement, as upstream). */
import { ResourceType } from "../provider";
import { engine, ignoreNotFound, labelMap, labelsShape, removeWhenFree } from "./engine";

export const network: ResourceType = {
    token: "docker:index/network:Network",
    inputs: {
        name: "string", driver: "string", labels: labelsShape, options: { map: "string" }, internal: "boolean",
        attachable: "boolean", ipamDriver: "string",
        ipamConfigs: { array: { object: { subnet: "string", gateway: "string", ipRange: "string", auxAddress: { map: "string" } } } },
    },
    replaceOn: "all",
    defaults: { driver: "bridge", ipamDriver: "default", internal: false, attachable: false },
    validate: (i) => i.name ? [] : [{ property: "name", reason: "name is required" }],
    async create(i) {
        const created = await engine.createNetwork({
            Name: i.name, Driver: i.driver, CheckDuplicate: true, Internal: i.internal, Attachable: i.attachable,
            Options: i.options, Labels: labelMap(i.labels),
            IPAM: {
                Driver: i.ipamDriver,
                Config: (i.ipamConfigs ?? []).map((c: any) => ({ Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ipRange, AuxiliaryAddresses: c.auxAddress })),
            },
        });
        return { id: created.id, outs: await this.read(created.id, i) ?? {} };
    },
    async read(id) {
        const info = await ignoreNotFound(() => engine.getNetwork(id).inspect());
        return info && { scope: info.Scope };
    },
    async delete(id) {
        await removeWhenFree(() => engine.getNetwork(id).remove());
    },
};
