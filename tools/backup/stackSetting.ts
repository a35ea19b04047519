/**
 * One setting of a stack as the backup tools read it: `pulumi config get` with the stack's config file
 * (BITRIX_CONFIG_FILE, else Pulumi.<stack>.yaml), else the key's default from the key table (unset, or no such stack).
 */
import { execFileSync } from "child_process";
import { KEYS, KeySpec } from "../../components/config/keys";

export function stackSetting(stack: string, key: keyof typeof KEYS): string {
    const configFile = process.env.BITRIX_CONFIG_FILE ? ["--config-file", process.env.BITRIX_CONFIG_FILE] : [];
    try {
        return execFileSync("pulumi", ["config", "get", `bitrix-cluster:${key}`, "--stack", stack, ...configFile], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
    } catch {
        return String((KEYS[key] as KeySpec).default ?? "");
    }
}
