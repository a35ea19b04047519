/**
 * The benchmark's provisioning peer: a docker-compose copy of a Docker stack, made from the stack's own state
 * (`pulumi stack export --show-secrets`). Every `docker:index/container:Container` becomes a service with the same
 * image (by id), name, hostname, command, environment, network (aliases, pinned address), volumes, published ports,
 * uploaded files (written to a directory and bind-mounted read-only, same modes), health check, capabilities, memory
 * limits, restart policy, stop grace and labels; the networks and volumes keep their names, subnets and drivers.
 * Pulumi's ordering between containers (direct, or through other resources such as a web node's rotation gate)
 * becomes `depends_on` (until healthy when the dependency has a health check). Resources that are not containers,
 * networks or volumes have no compose equivalent and are listed in `leftOut`.
 *
 * The file is JSON, which YAML (and so docker-compose) reads; every `$` is doubled so compose interpolates nothing.
 */

/** The secret marker Pulumi puts in exported state (`{ <SIG>: <SECRET_SIG>, plaintext | ciphertext }`). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";
/** Resources whose job the compose copy does otherwise: it runs the images already built or pulled, by id. */
const IMAGES = ["docker:index/image:Image", "docker:index/remoteImage:RemoteImage"];

/** One file the compose copy bind-mounts, relative to the compose directory. */
export interface ComposeUpload {
    /** "uploads/<service>/<path in the container>" */
    path: string;
    content: Buffer;
    /** File mode, e.g. 0o600. */
    mode: number;
}

export interface ComposeCopy {
    /** Text of docker-compose.yml (JSON). */
    text: string;
    /** The same, as an object (for tests and for the benchmark's list of services). */
    file: ComposeFile;
    uploads: ComposeUpload[];
    /** Resources of the stack the copy has no equivalent for, by type ("command:local:Command × 2"). */
    leftOut: string[];
}

export interface ComposeService {
    image: string;
    container_name: string;
    hostname?: string;
    command?: string[];
    entrypoint?: string[];
    environment?: string[];
    networks: Record<string, { aliases?: string[]; ipv4_address?: string }>;
    volumes?: string[];
    ports?: string[];
    healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
    cap_add?: string[];
    cap_drop?: string[];
    mem_limit?: string;
    memswap_limit?: string;
    logging?: { driver: string; options?: Record<string, string> };
    restart?: string;
    stop_grace_period?: string;
    labels?: Record<string, string>;
    depends_on?: Record<string, { condition: "service_healthy" | "service_started" }>;
}

export interface ComposeFile {
    version: "2.4";
    services: Record<string, ComposeService>;
    networks: Record<
        string,
        { name: string; driver?: string; ipam?: { config: Record<string, string>[] }; labels?: Record<string, string> }
    >;
    volumes: Record<string, { name: string; driver?: string; driver_opts?: Record<string, string>; labels?: Record<string, string> }>;
}

interface Resource {
    urn: string;
    type: string;
    custom: boolean;
    parent?: string;
    dependencies: string[];
    inputs: Record<string, unknown>;
}

/**
 * Container inputs the copy has no use for: Pulumi's own waiting and lifecycle knobs (compose has `up -d` and
 * `down`), and the provider's defaults for what compose also defaults (recorded by the provider, not by the program).
 */
const IGNORED_CONTAINER_INPUTS = new Set([
    "__defaults",
    "mustRun",
    "wait",
    "waitTimeout",
    "start",
    "attach",
    "logs",
    "rm",
    "removeVolumes",
    "readOnly",
    "stdinOpen",
    "tty",
    "publishAllPorts",
    "privileged",
    "init",
]);

/** Inputs translated below. */
const TRANSLATED_CONTAINER_INPUTS = new Set([
    "name",
    "hostname",
    "image",
    "command",
    "entrypoints",
    "envs",
    "networksAdvanced",
    "volumes",
    "ports",
    "uploads",
    "healthcheck",
    "capabilities",
    "memory",
    "memorySwap",
    "logDriver",
    "logOpts",
    "restart",
    "destroyGraceSeconds",
    "labels",
]);

/** Unwraps exported secrets (decrypted in the export); refuses encrypted ones without printing anything of them. */
function reveal(v: unknown, where: string): unknown {
    if (Array.isArray(v)) return v.map((x, i) => reveal(x, `${where}[${i}]`));
    if (isObject(v)) {
        if (SECRET_SIG_KEY in v) {
            if (typeof v.plaintext !== "string")
                throw new Error(`compose copy: ${where} is an encrypted secret; export the stack with --show-secrets`);
            return reveal(JSON.parse(v.plaintext) as unknown, where);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x, `${where}.${k}`)]));
    }
    return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown, where: string): string {
    if (typeof v !== "string" || v === "") throw new Error(`compose copy: ${where} must be a non-empty string`);
    return v;
}

function optStr(v: unknown, where: string): string | undefined {
    return v === undefined || v === null || v === "" ? undefined : str(v, where);
}

function list(v: unknown, where: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new Error(`compose copy: ${where} must be a list`);
    return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
    if (!isObject(v)) throw new Error(`compose copy: ${where} must be an object`);
    return v;
}

function strings(v: unknown, where: string): string[] {
    return list(v, where).map((x, i) => str(x, `${where}[${i}]`));
}

/** compose interpolates `$NAME` and `${NAME}` in every value; `$$` is a literal `$`. */
const literal = (s: string) => s.replace(/\$/g, "$$$$");

/** A path used in compose's short volume syntax (`source:target[:mode]`) must not hold a colon. */
function mountPath(v: unknown, where: string): string {
    const p = str(v, where);
    if (!p.startsWith("/") || p.includes(":") || p.split("/").includes(".."))
        throw new Error(`compose copy: ${where} "${p}" is not a plain absolute path`);
    return p;
}

/** The docker provider's labels list as a map. */
function labelMap(v: unknown, where: string): Record<string, string> | undefined {
    const entries = list(v, where).map((l, i): [string, string] => {
        const o = obj(l, `${where}[${i}]`);
        return [str(o.label, `${where}[${i}].label`), literal(typeof o.value === "string" ? o.value : "")];
    });
    return entries.length ? Object.fromEntries(entries) : undefined;
}

function parseResources(exported: unknown): Resource[] {
    const root = obj(exported, "the export");
    const deployment = obj(root.deployment, "the export's deployment");
    return list(deployment.resources, "deployment.resources").map((r, i) => {
        const o = obj(r, `resource ${i}`);
        const urn = str(o.urn, `resource ${i}.urn`);
        return {
            urn,
            type: str(o.type, `${urn}.type`),
            custom: o.custom === true,
            parent: optStr(o.parent, `${urn}.parent`),
            dependencies: strings(o.dependencies, `${urn}.dependencies`),
            inputs: o.inputs === undefined ? {} : obj(o.inputs, `${urn}.inputs`),
        };
    });
}

/** "1m30s", "500ms", "2s" as Go prints durations (the provider's form) are also compose's; checked, passed on. */
function duration(v: unknown, where: string): string | undefined {
    const d = optStr(v, where);
    if (d !== undefined && !/^(\d+h)?(\d+m)?(\d+(\.\d+)?(ms|s))?$/.test(d))
        throw new Error(`compose copy: ${where} "${d}" is not a duration`);
    return d;
}

function fileMode(v: unknown, executable: unknown, where: string): number {
    if (v === undefined || v === null || v === "") return executable === true ? 0o755 : 0o644;
    const s = str(v, where);
    if (!/^0?[0-7]{3,4}$/.test(s)) throw new Error(`compose copy: ${where} "${s}" is not an octal file mode`);
    return parseInt(s, 8);
}

/** Makes the compose copy of an exported stack (`pulumi stack export --show-secrets`, parsed). */
export function composeCopy(exported: unknown): ComposeCopy {
    const resources = parseResources(exported);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, Resource[]>();
    for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);

    const file: ComposeFile = { version: "2.4", services: {}, networks: {}, volumes: {} };
    const uploads: ComposeUpload[] = [];
    const leftOut = new Map<string, number>();

    // Networks and volumes by their Docker name (the key in the compose file too).
    for (const r of resources.filter((r) => r.type === NETWORK)) {
        const inp = reveal(r.inputs, r.urn) as Record<string, unknown>;
        const name = str(inp.name, `${r.urn}.name`);
        const config = list(inp.ipamConfigs, `${r.urn}.ipamConfigs`).map((c, i) => {
            const o = obj(c, `${r.urn}.ipamConfigs[${i}]`);
            const entries: [string, string | undefined][] = [
                ["subnet", optStr(o.subnet, `${r.urn}.subnet`)],
                ["gateway", optStr(o.gateway, `${r.urn}.gateway`)],
                ["ip_range", optStr(o.ipRange, `${r.urn}.ipRange`)],
            ];
            return Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== undefined));
        });
        file.networks[name] = {
            name,
            driver: optStr(inp.driver, `${r.urn}.driver`),
            ...(config.length ? { ipam: { config } } : {}),
            labels: labelMap(inp.labels, `${r.urn}.labels`),
        };
    }
    for (const r of resources.filter((r) => r.type === VOLUME)) {
        const inp = reveal(r.inputs, r.urn) as Record<string, unknown>;
        const name = str(inp.name, `${r.urn}.name`);
        const opts = inp.driverOpts === undefined ? {} : obj(inp.driverOpts, `${r.urn}.driverOpts`);
        file.volumes[name] = {
            name,
            driver: optStr(inp.driver, `${r.urn}.driver`),
            ...(Object.keys(opts).length
                ? {
                      driver_opts: Object.fromEntries(
                          Object.entries(opts).map(([k, v]) => [k, literal(str(v, `${r.urn}.driverOpts.${k}`))]),
                      ),
                  }
                : {}),
            labels: labelMap(inp.labels, `${r.urn}.labels`),
        };
    }

    const containers = resources.filter((r) => r.type === CONTAINER);
    const containerName = new Map(containers.map((r) => [r.urn, str(r.inputs.name, `${r.urn}.name`)]));
    for (const r of resources) {
        if (!r.custom || [CONTAINER, NETWORK, VOLUME, ...IMAGES].includes(r.type) || r.type.startsWith("pulumi:providers:")) continue;
        leftOut.set(r.type, (leftOut.get(r.type) ?? 0) + 1);
    }

    for (const r of containers) {
        const inp = reveal(r.inputs, r.urn) as Record<string, unknown>;
        const name = containerName.get(r.urn)!;
        const defaulted = new Set(strings(inp.__defaults, `${name}.__defaults`));
        for (const k of Object.keys(inp))
            if (!TRANSLATED_CONTAINER_INPUTS.has(k) && !IGNORED_CONTAINER_INPUTS.has(k) && !defaulted.has(k))
                throw new Error(`compose copy: ${name} sets "${k}", which the compose copy does not translate`);
        const at = (k: string) => `${name}.${k}`;
        const service: ComposeService = {
            image: str(inp.image, at("image")),
            container_name: name,
            hostname: optStr(inp.hostname, at("hostname")),
            networks: {},
        };
        const command = strings(inp.command, at("command"));
        if (command.length) service.command = command.map(literal);
        const entrypoint = strings(inp.entrypoints, at("entrypoints"));
        if (entrypoint.length) service.entrypoint = entrypoint.map(literal);
        const env = strings(inp.envs, at("envs"));
        for (const e of env)
            if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw new Error(`compose copy: ${at("envs")} holds an entry that is not NAME=value`);
        if (env.length) service.environment = env.map(literal);

        for (const [i, n] of list(inp.networksAdvanced, at("networksAdvanced")).entries()) {
            const o = obj(n, `${at("networksAdvanced")}[${i}]`);
            const net = str(o.name, `${at("networksAdvanced")}[${i}].name`);
            if (!(net in file.networks)) throw new Error(`compose copy: ${name} joins network ${net}, which is not in the stack`);
            const aliases = strings(o.aliases, `${at("networksAdvanced")}[${i}].aliases`);
            const ipv4 = optStr(o.ipv4Address, `${at("networksAdvanced")}[${i}].ipv4Address`);
            service.networks[net] = { ...(aliases.length ? { aliases } : {}), ...(ipv4 ? { ipv4_address: ipv4 } : {}) };
        }

        const volumes: string[] = [];
        for (const [i, v] of list(inp.volumes, at("volumes")).entries()) {
            const o = obj(v, `${at("volumes")}[${i}]`);
            const target = mountPath(o.containerPath, `${at("volumes")}[${i}].containerPath`);
            const vol = optStr(o.volumeName, `${at("volumes")}[${i}].volumeName`);
            if (!vol) throw new Error(`compose copy: ${at("volumes")}[${i}] is not a named volume`);
            if (!(vol in file.volumes)) throw new Error(`compose copy: ${name} mounts volume ${vol}, which is not in the stack`);
            volumes.push(`${vol}:${target}${o.readOnly === true ? ":ro" : ""}`);
        }
        // Secret files with a reading group: the entrypoint applies the group at start (a container upload carries
        // none), so those stay writable for its `chgrp`; every other upload is read-only.
        const grouped = new Set(
            (env.find((e) => e.startsWith("BITRIX_FILE_GROUPS=")) ?? "BITRIX_FILE_GROUPS=")
                .slice("BITRIX_FILE_GROUPS=".length)
                .split(/\s+/)
                .filter(Boolean)
                .map((pair) => pair.slice(pair.indexOf(":") + 1)),
        );
        for (const [i, u] of list(inp.uploads, at("uploads")).entries()) {
            const where = `${at("uploads")}[${i}]`;
            const o = obj(u, where);
            const target = mountPath(o.file, `${where}.file`);
            if (o.source !== undefined && o.source !== null && o.source !== "")
                throw new Error(`compose copy: ${where} uploads a host file; only content is copied`);
            const content =
                typeof o.contentBase64 === "string" && o.contentBase64 !== ""
                    ? Buffer.from(o.contentBase64, "base64")
                    : Buffer.from(typeof o.content === "string" ? o.content : "", "utf8");
            const rel = `uploads/${name}${target}`;
            uploads.push({ path: rel, content, mode: fileMode(o.permissions, o.executable, `${where}.permissions`) });
            volumes.push(`./${rel}:${target}${grouped.has(target) ? "" : ":ro"}`);
        }
        if (volumes.length) service.volumes = volumes;

        const ports = list(inp.ports, at("ports")).map((p, i) => {
            const o = obj(p, `${at("ports")}[${i}]`);
            const internal = Number(o.internal);
            const external = o.external === undefined || o.external === null ? undefined : Number(o.external);
            if (!Number.isInteger(internal) || (external !== undefined && !Number.isInteger(external)))
                throw new Error(`compose copy: ${at("ports")}[${i}] is not a port number`);
            const ip = optStr(o.ip, `${at("ports")}[${i}].ip`);
            const proto = optStr(o.protocol, `${at("ports")}[${i}].protocol`) ?? "tcp";
            return `${ip ? `${ip}:` : ""}${external ?? ""}${external !== undefined || ip ? ":" : ""}${internal}${proto === "tcp" ? "" : `/${proto}`}`;
        });
        if (ports.length) service.ports = ports;

        if (inp.healthcheck !== undefined && inp.healthcheck !== null) {
            const h = obj(inp.healthcheck, at("healthcheck"));
            service.healthcheck = {
                test: strings(h.tests, at("healthcheck.tests")).map(literal),
                interval: duration(h.interval, at("healthcheck.interval")),
                timeout: duration(h.timeout, at("healthcheck.timeout")),
                retries: typeof h.retries === "number" ? h.retries : undefined,
                start_period: duration(h.startPeriod, at("healthcheck.startPeriod")),
            };
        }
        if (inp.capabilities !== undefined && inp.capabilities !== null) {
            const c = obj(inp.capabilities, at("capabilities"));
            const adds = strings(c.adds, at("capabilities.adds"));
            const drops = strings(c.drops, at("capabilities.drops"));
            if (adds.length) service.cap_add = adds;
            if (drops.length) service.cap_drop = drops;
        }
        const mb = (v: unknown, k: string) => {
            if (v === undefined || v === null || v === 0) return undefined;
            if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new Error(`compose copy: ${at(k)} must be megabytes`);
            return `${v}m`;
        };
        service.mem_limit = mb(inp.memory, "memory");
        service.memswap_limit = mb(inp.memorySwap, "memorySwap");
        const logDriver = optStr(inp.logDriver, at("logDriver"));
        if (logDriver !== undefined) {
            const opts = inp.logOpts === undefined || inp.logOpts === null ? {} : obj(inp.logOpts, at("logOpts"));
            const options = Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, literal(str(v, at(`logOpts.${k}`)))]));
            service.logging = { driver: logDriver, ...(Object.keys(options).length ? { options } : {}) };
        } else if (inp.logOpts !== undefined && inp.logOpts !== null) throw new Error(`compose copy: ${at("logOpts")} without logDriver`);
        service.restart = optStr(inp.restart, at("restart"));
        if (typeof inp.destroyGraceSeconds === "number") service.stop_grace_period = `${inp.destroyGraceSeconds}s`;
        service.labels = labelMap(inp.labels, at("labels"));
        file.services[name] = service;
    }

    // Ordering: the containers each container waits for in Pulumi's graph, directly or through other resources.
    const healthy = (n: string) => file.services[n].healthcheck !== undefined;
    for (const r of containers) {
        const found = new Set<string>();
        const seen = new Set<string>();
        const walk = (urn: string) => {
            if (seen.has(urn)) return;
            seen.add(urn);
            const d = byUrn.get(urn);
            if (!d) return;
            if (d.type === CONTAINER && urn !== r.urn) {
                found.add(containerName.get(urn)!);
                return;
            }
            for (const next of d.dependencies) walk(next);
            if (!d.custom) for (const c of children.get(urn) ?? []) walk(c.urn);
        };
        for (const d of r.dependencies) walk(d);
        const name = containerName.get(r.urn)!;
        if (found.size)
            file.services[name].depends_on = Object.fromEntries(
                [...found].sort().map((n) => [n, { condition: healthy(n) ? ("service_healthy" as const) : ("service_started" as const) }]),
            );
    }

    return {
        text: `${JSON.stringify(file, null, 2)}\n`,
        file,
        uploads,
        leftOut: [...leftOut].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} × ${n}`),
    };
}
