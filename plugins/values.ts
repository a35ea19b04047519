/**
 * Values as the engine sends them to a Node.js provider: secrets arrive wrapped in a signature object and, during
 * previews, unknown values arrive as a sentinel string. Resources act on plain values and hand back outputs with
 * the same wrappers, so whatever was secret going in stays secret in the state.
 */
/** The key that marks a special value (secret, asset, archive, …) and the value it holds for each kind. */
export const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
/** The engine's marker for a value not known until the update runs. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Wrapped = { [SIG]: string; value: unknown };

export function isSecret(v: unknown): v is Wrapped {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG] === SECRET_SIG;
}

/** An asset or archive as the engine sends it (`{ text }` or `{ path }`, plus the engine's `hash`). */
export function asset(fields: Record<string, unknown>): Record<string, unknown> {
    return { [SIG]: ASSET_SIG, ...fields };
}
export function archive(fields: Record<string, unknown>): Record<string, unknown> {
    return { [SIG]: ARCHIVE_SIG, ...fields };
}

/** Wraps a value as a secret output. */
export function secret(value: unknown): Wrapped {
    return { [SIG]: SECRET_SIG, value };
}

/** True when the value or anything inside it is unknown. */
export function hasUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (isSecret(v)) return hasUnknown(v.value);
    if (Array.isArray(v)) return v.some(hasUnknown);
    if (typeof v === "object" && v !== null) return Object.values(v).some(hasUnknown);
    return false;
}

/** The value with every secret wrapper removed. */
export function plain<T = any>(v: unknown): T {
    if (isSecret(v)) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain) as T;
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
    }
    return v as T;
}

/** Structural equality of two values, ignoring secret wrappers. */
export function same(a: unknown, b: unknown): boolean {
    return JSON.stringify(canonical(plain(a))) === JSON.stringify(canonical(plain(b)));
}

function canonical(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(canonical);
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.keys(v).sort()
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
    }
    return v;
}
