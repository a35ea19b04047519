/**
 * Addresses on a stack's Docker network. Docker hands out the upper half of the subnet; the lower half holds the
 * addresses the program pins: the gateway, the balancers' floating address, and services that peers or dockerd
 * must reach by IP (the NFS server: dockerd mounts NFS by address; the balancers: VRRP peers are unicast).
 */
import { ipv4At } from "../config/checks";

/** Address number (in the subnet) of each pinned service; balancer-N is 10 + N. */
const PINNED: Record<string, number> = { nfs: 10 };
/** Balancers a Docker stack can pin (balancer-1 … balancer-4). */
export const MAX_DOCKER_BALANCERS = 4;
/** Address numbers the placement reserves in the lower half: the NFS server and the balancers. */
export const RESERVED_SLOTS = { first: 10, last: 10 + MAX_DOCKER_BALANCERS };
/** Address number of the default floating address. */
export const FLOATING_SLOT = 5;

/** Address number of a pinned service, undefined for services Docker addresses itself. */
export function pinnedSlot(service: string): number | undefined {
    const balancer = /^balancer-([1-9]\d*)$/.exec(service);
    if (balancer && Number(balancer[1]) <= MAX_DOCKER_BALANCERS) return RESERVED_SLOTS.first + Number(balancer[1]);
    return PINNED[service];
}

/** Splits a subnet into the pinned half (low) and the range Docker hands out (high). */
export function dockerAddressing(subnet: string): { gateway: string; floatingAddress: string; dynamicRange: string } {
    const bits = Number(subnet.split("/")[1]);
    return {
        gateway: ipv4At(subnet, 1),
        floatingAddress: ipv4At(subnet, FLOATING_SLOT),
        dynamicRange: `${ipv4At(subnet, 2 ** (32 - bits) / 2)}/${bits + 1}`,
    };
}
