/** `random.RandomPassword`: a password from the platform's CSPRNG, fixed until an input changes. */
import bcrypt from "bcryptjs";
import { randomInt } from "crypto";
import { ResourceType } from "../provider";
import { Failure } from "../schema";

/** The character sets of terraform-provider-random, which the official plugin bridges. */
export const CHARSETS = {
    lower: "abcdefghijklmnopqrstuvwxyz",
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
};

export interface PasswordRules {
    length: number;
    lower: boolean; upper: boolean; numeric: boolean; special: boolean;
    minLower: number; minUpper: number; minNumeric: number; minSpecial: number;
    overrideSpecial?: string;
}

/** Every required minimum first, the rest from all enabled sets, then a Fisher–Yates shuffle. */
export function generatePassword(r: PasswordRules): string {
    const special = r.overrideSpecial ?? CHARSETS.special;
    const sets: Array<[boolean, string, number]> = [
        [r.lower, CHARSETS.lower, r.minLower], [r.upper, CHARSETS.upper, r.minUpper],
        [r.numeric, CHARSETS.numeric, r.minNumeric], [r.special, special, r.minSpecial],
    ];
    const pick = (chars: string) => chars[randomInt(chars.length)];
    const out: string[] = [];
    let all = "";
    for (const [on, chars, min] of sets) {
        if (!on) continue;
        all += chars;
        for (let i = 0; i < min; i++) out.push(pick(chars));
    }
    while (out.length < r.length) out.push(pick(all));
    for (let i = out.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out.join("");
}

export const randomPassword: ResourceType = {
    token: "random:index/randomPassword:RandomPassword",
    inputs: {
        length: "integer", lower: "boolean", upper: "boolean", numeric: "boolean", number: "boolean", special: "boolean",
        minLower: "integer", minUpper: "integer", minNumeric: "integer", minSpecial: "integer",
        overrideSpecial: "string", keepers: { map: "string" },
    },
    // terraform-provider-random marks every argument RequiresReplace.
    replaceOn: "all",
    defaults: { lower: true, upper: true, numeric: true, number: true, special: true, minLower: 0, minUpper: 0, minNumeric: 0, minSpecial: 0 },
    secretOutputs: ["result", "bcryptHash"],
    validate(i): Failure[] {
        const failures: Failure[] = [];
        if (!Number.isInteger(i.length) || i.length < 1) failures.push({ property: "length", reason: "length is required and must be at least 1" });
        const mins = (i.minLower ?? 0) + (i.minUpper ?? 0) + (i.minNumeric ?? 0) + (i.minSpecial ?? 0);
        if (mins > i.length) failures.push({ property: "length", reason: `length ${i.length} is below the sum of the minimums (${mins})` });
        if (!(i.lower ?? true) && !(i.upper ?? true) && !(i.numeric ?? i.number ?? true) && !(i.special ?? true)) {
            failures.push({ property: "special", reason: "at least one of lower, upper, numeric and special must be true" });
        }
        return failures;
    },
    async create(i) {
        const result = generatePassword({
            length: i.length, lower: i.lower, upper: i.upper, numeric: i.numeric && i.number !== false, special: i.special,
            minLower: i.minLower, minUpper: i.minUpper, minNumeric: i.minNumeric, minSpecial: i.minSpecial,
            overrideSpecial: i.overrideSpecial,
        });
        return { id: "none", outs: { result, bcryptHash: await bcrypt.hash(result, 10) } };
    },
    async read() {
        return {};
    },
    async delete() { /* nothing outside the state */ },
};
