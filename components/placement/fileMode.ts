/** How a generated file is protected wherever it lands (a host's file system or a container's). */
import { FileSpec } from "./types";

/** Mode and reading group of a file: executables 0755, secrets 0600 (0640 with a reading group), the rest 0644. */
export function fileMode(f: FileSpec): { mode: string; group?: string } {
    if (f.executable) return { mode: "0755" };
    if (f.secret) return f.group ? { mode: "0640", group: f.group } : { mode: "0600" };
    return { mode: "0644" };
}

/**
 * The reading groups of a container's secret files, for its entrypoint (`BITRIX_FILE_GROUPS`): "group:path" pairs,
 * space-separated. A container upload cannot carry a group, so the entrypoint applies it (`chgrp -h`, never through a
 * symlink the app user could have planted).
 */
export function fileGroupsEnv(files: FileSpec[]): string | undefined {
    const pairs = files
        .map((f) => ({ f, m: fileMode(f) }))
        .filter(({ m }) => m.group)
        .map(({ f, m }) => {
            if (!/^[a-z_][a-z0-9_-]*$/.test(m.group!) || !/^\/[A-Za-z0-9._/-]+$/.test(f.path))
                throw new Error(`${f.path}: a group-readable file needs a plain path and group name`);
            return `${m.group}:${f.path}`;
        });
    return pairs.length ? pairs.join(" ") : undefined;
}
