/**
 * The skeleton every offline plugin shares: one `ResourceType` per resource token, served through
 * `@pulumi/pulumi/provider` so the engine drives it exactly like the official plugin binary.
 *
 * Resource types work on plain values. This module keeps the engine's wrappers: inputs that were secret come back
 * secret in the outputs, declared secret outputs are wrapped, and unknown values (previews) force a change.
 */
import * as provider from "@pulumi/pulumi/provider";
import { checkObject, Failure, Shape } from "./schema";
import { hasUnknown, plain, same, secret } from "./values";

type Props = Record<string, any>;

export interface ResourceType {
    /** Type token, as in the npm package (`docker:index/container:Container`). */
    token: string;
    /** The inputs this stand-in implements; any other input fails `check`. */
    inputs: Record<string, Shape>;
    /** Inputs whose change replaces the resource; the rest update in place. */
    replaceOn: string[] | "all";
    /** Defaults the official plugin records in state for absent inputs. */
    defaults?: Props;
    /** Derived inputs added at check time (e.g. the digest of a build context), so a diff sees them. */
    normalize?(news: Props): Props;
    /** Semantic checks beyond shapes (required inputs, allowed values), on plain inputs. */
    validate?(inputs: Props): Failure[];
    /** Outputs the official plugin marks secret. */
    secretOutputs?: string[];
    create(inputs: Props): Promise<{ id: string; outs: Props }>;
    /** Current computed outputs, or undefined when the object is gone (a refresh then drops it). */
    read(id: string, state: Props): Promise<Props | undefined>;
    update?(id: string, olds: Props, news: Props): Promise<Props>;
    delete(id: string, state: Props): Promise<void>;
}

/**
 * Thrown by `create` when the object exists but did not come up (e.g. a container that never turned healthy):
 * the engine keeps it in the state, so the next update replaces it instead of leaking it.
 */
export class CreatedButFailed extends Error {
    constructor(message: string, readonly id: string, readonly outs: Props) {
        super(message);
    }
}

function typeOf(urn: string): string {
    // urn:pulumi:stack::project::parent$type::name — the resource's own type is the last `$` segment.
    const qualified = urn.split("::")[2] ?? "";
    return qualified.split("$").pop() ?? qualified;
}

function outputs(raw: Props, computed: Props, secretOutputs: string[] = []): Props {
    const outs: Props = { ...raw, ...computed };
    for (const key of secretOutputs) if (outs[key] !== undefined) outs[key] = secret(plain(outs[key]));
    return withoutUndefined(outs);
}

/** The wire format has no `undefined`: absent outputs are left out. */
function withoutUndefined(v: any): any {
    if (Array.isArray(v)) return v.map(withoutUndefined);
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, withoutUndefined(x)]));
    }
    return v;
}

/** Which implemented inputs differ between the recorded state and the new inputs (unknowns count as changes). */
export function changedInputs(type: ResourceType, olds: Props, news: Props): string[] {
    return Object.keys(type.inputs).filter((key) => {
        const before = olds[key] ?? type.defaults?.[key];
        const after = news[key] ?? type.defaults?.[key];
        return hasUnknown(after) || !same(before, after);
    });
}

export function diffResult(type: ResourceType, olds: Props, news: Props): provider.DiffResult {
    const changed = changedInputs(type, olds, news);
    const replaces = type.replaceOn === "all" ? changed : changed.filter((k) => (type.replaceOn as string[]).includes(k));
    return { changes: changed.length > 0, replaces };
}

export function checkInputs(type: ResourceType, news: Props): provider.CheckResult {
    const failures = checkObject(news, type.inputs, "");
    if (failures.length === 0 && type.validate && !hasUnknown(news)) failures.push(...type.validate(plain(news)));
    const inputs: Props = { ...(failures.length === 0 && type.normalize ? type.normalize(news) : news) };
    for (const [key, value] of Object.entries(type.defaults ?? {})) if (inputs[key] === undefined) inputs[key] = value;
    return { inputs, failures };
}

/** A Provider serving the given resource types. */
export function makeProvider(version: string, types: ResourceType[]): provider.Provider {
    const byToken = new Map(types.map((t) => [t.token, t]));
    const find = (urn: string): ResourceType => {
        const type = byToken.get(typeOf(urn));
        if (!type) {
            throw new Error(`${typeOf(urn)} is not implemented by this offline plugin ` +
                `(it implements ${[...byToken.keys()].join(", ")}); use the official Pulumi plugin`);
        }
        return type;
    };
    return {
        version,
        async check(urn, _olds, news) {
            return checkInputs(find(urn), news);
        },
        async diff(_id, urn, olds, news) {
            return diffResult(find(urn), olds, news);
        },
        async create(urn, inputs) {
            const type = find(urn);
            try {
                const { id, outs } = await type.create(plain(inputs));
                return { id, outs: outputs(inputs, outs, type.secretOutputs) };
            } catch (e) {
                if (e instanceof CreatedButFailed) {
                    throw Object.assign(new Error(e.message), {
                        id: e.id, properties: outputs(inputs, e.outs, type.secretOutputs), reasons: [e.message],
                    });
                }
                throw e;
            }
        },
        async read(id, urn, props) {
            const type = find(urn);
            const computed = await type.read(id, plain(props ?? {}));
            if (computed === undefined) return { id: "", props: {}, inputs: {} };
            const state = outputs(props ?? {}, computed, type.secretOutputs);
            const inputs = Object.fromEntries(Object.keys(type.inputs).filter((k) => state[k] !== undefined).map((k) => [k, state[k]]));
            return { id, props: state, inputs };
        },
        async update(id, urn, olds, news) {
            const type = find(urn);
            if (!type.update) throw new Error(`${type.token} has no in-place update; this change should have replaced it`);
            const computed = await type.update(id, plain(olds), plain(news));
            return { outs: outputs(news, computed, type.secretOutputs) };
        },
        async delete(id, urn, props) {
            await find(urn).delete(id, plain(props));
        },
    };
}

/** Entry point of a plugin process started by the engine. */
export function serve(version: string, types: ResourceType[]): void {
    provider.main(makeProvider(version, types), process.argv.slice(2)).catch((e) => {
        console.error(e);
        process.exit(1);
    });
}

/** The plugin version an npm package pins (`pulumi.version` in its package.json): the stand-in answers to it. */
export function pinnedVersion(npmPackage: string): string {
    const manifest = require(`${npmPackage}/package.json`) as { pulumi?: { version?: string }; version: string };
    return manifest.pulumi?.version ?? manifest.version;
}
