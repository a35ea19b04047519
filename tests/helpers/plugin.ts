/** Shared by the tests that drive the offline plugins' resource types directly. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { checkInputs, ResourceType } from "../../plugins/provider";

/** The docker CLI; throws with its stderr on failure. */
export function docker(...args: string[]): string {
    return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A resource's inputs after the plugin's `check`, which must pass. */
export function checked(type: ResourceType, inputs: Record<string, unknown>): Record<string, any> {
    const r = checkInputs(type, inputs);
    assert.deepEqual(r.failures, []);
    return r.inputs;
}
