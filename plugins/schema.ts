/**
 * The input shapes an offline plugin implements. `check` rejects any property outside them, so a program that
 * starts using something the stand-in does not do fails loudly instead of being silently ignored.
 */
import { isSecret, UNKNOWN } from "./values";

export type Shape =
    | "string" | "number" | "integer" | "boolean" | "any"
    | { array: Shape }
    | { object: Record<string, Shape> }
    | { map: Shape };

export interface Failure { property: string; reason: string }

/** Problems of `value` against `shape`, with property paths as the engine prints them (`ports[0].internal`). */
export function checkShape(value: unknown, shape: Shape, path: string): Failure[] {
    if (value === UNKNOWN || value === undefined || value === null) return [];
    if (isSecret(value)) return checkShape(value.value, shape, path);
    const fail = (reason: string): Failure[] => [{ property: path, reason }];
    if (shape === "any") return [];
    if (shape === "string") return typeof value === "string" ? [] : fail("expected a string");
    if (shape === "boolean") return typeof value === "boolean" ? [] : fail("expected a boolean");
    if (shape === "number") return typeof value === "number" ? [] : fail("expected a number");
    if (shape === "integer") return Number.isInteger(value) ? [] : fail("expected an integer");
    if ("array" in shape) {
        if (!Array.isArray(value)) return fail("expected a list");
        return value.flatMap((v, i) => checkShape(v, shape.array, `${path}[${i}]`));
    }
    if (typeof value !== "object" || Array.isArray(value)) return fail("expected an object");
    if ("map" in shape) {
        return Object.entries(value).flatMap(([k, v]) => checkShape(v, shape.map, `${path}["${k}"]`));
    }
    return checkObject(value as Record<string, unknown>, shape.object, path);
}

export function checkObject(value: Record<string, unknown>, props: Record<string, Shape>, path: string): Failure[] {
    return Object.entries(value).flatMap(([k, v]) => {
        const at = path ? `${path}.${k}` : k;
        if (!(k in props)) {
            return v === undefined ? [] : [{
                property: at,
                reason: `not implemented by this offline plugin (it implements: ${Object.keys(props).join(", ")}); ` +
                    "use the official Pulumi plugin for this property",
            }];
        }
        return checkShape(v, props[k], at);
    });
}
