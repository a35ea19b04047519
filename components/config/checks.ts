/** Small value checks shared by the config key table and the cross-key rules. */
import * as ipaddr from "ipaddr.js";

/**
 * An IPv4 or IPv6 CIDR with a valid prefix length ("10.0.0.0/8", "2001:db8::/32"). No leading zeros in an IPv4
 * octet (also inside an IPv6 address) or in the prefix length: some parsers read "010" as octal, so
 * "010.0.0.0/8" would be 8.0.0.0/8.
 */
export function isCidr(value: string): boolean {
    const [addr, bits, ...rest] = value.split("/");
    if (bits === undefined || rest.length > 0 || !/^(0|[1-9]\d{0,2})$/.test(bits)) return false;
    if (addr.includes(".") && !isIpv4(addr.slice(addr.lastIndexOf(":") + 1))) return false;
    try {
        ipaddr.parseCIDR(value);
        return true;
    } catch {
        return false;
    }
}

/** Parses an IPv4 CIDR into its network address as a number and its prefix length. */
export function ipv4Range(cidr: string): { first: number; last: number } {
    const [addr, bits] = ipaddr.IPv4.parseCIDR(cidr);
    const base = addr.toByteArray().reduce((acc, b) => acc * 256 + b, 0);
    const size = 2 ** (32 - bits);
    const first = base - (base % size);
    return { first, last: first + size - 1 };
}

/** The n-th address (0 = network address) of an IPv4 CIDR, as dotted text. */
export function ipv4At(cidr: string, n: number): string {
    const { first, last } = ipv4Range(cidr);
    const value = first + n;
    if (value > last) throw new Error(`${cidr} has no address number ${n}`);
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** A DNS host name; the last label not all digits, so no address in a short or octal form ("127.1", "010.0.0.1"). */
export function isHostname(value: string): boolean {
    return (
        value.length <= 253 &&
        !/(^|\.)\d+$/.test(value) &&
        /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(value)
    );
}

export function isIdentifier(value: string, maxLength: number): boolean {
    return value.length <= maxLength && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value);
}

export function isTimezone(value: string): boolean {
    if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(value)) return false;
    try {
        new Intl.DateTimeFormat("en", { timeZone: value });
        return true;
    } catch {
        return false;
    }
}

/** An IPv4 address in plain dotted-quad form (no "127.1", no "0"). */
export function isIpv4(value: string): boolean {
    return /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(value);
}

/** An IPv4 CIDR written with its network address (no host bits set). */
export function isNetworkAddress(cidr: string): boolean {
    const [addr] = cidr.split("/");
    return ipv4At(cidr, 0) === addr;
}
