/**
 * The one lifecycle every layer component follows: a ComponentResource of the layer's type token whose children
 * are created by the layer's exported `createX(name, parent, args)` function (so they are parented to it and named
 * after it), whose results become its properties, and whose outputs are registered.
 */
import * as pulumi from "@pulumi/pulumi";

export type LayerClass<A, R> = new (
    name: string,
    args: A,
    opts?: pulumi.ComponentResourceOptions,
) => pulumi.ComponentResource & Readonly<R>;

export function layerComponent<A, R extends object>(
    type: string,
    create: (name: string, parent: pulumi.ComponentResource, args: A) => R,
    outputs: (result: R) => pulumi.Inputs,
): LayerClass<A, R> {
    class Layer extends pulumi.ComponentResource {
        constructor(name: string, args: A, opts?: pulumi.ComponentResourceOptions) {
            super(type, name, {}, opts);
            const result = create(name, this, args);
            Object.assign(this, result);
            this.registerOutputs(outputs(result));
        }
    }
    return Layer as unknown as LayerClass<A, R>;
}
