/**
 * A Push & Pull client for the drills and tests, speaking the push server's protocol as Bitrix's pull client does:
 * subscribers connect to `/bitrix/subws/?CHANNEL_ID=<id>.<HMAC-SHA1(id, key)>` (websocket) or poll `/bitrix/sub/`,
 * reconnect with `&mid=<last message id>` so the server replays what they missed, and read frames
 * `#!NGINXNMS!#{…}#!NGINXNME!#`. Messages are published from inside a web node through its local route, the way PHP
 * does, with the send time taken there (the host and the containers share one clock).
 */
import * as crypto from "crypto";
import WebSocket from "ws";
import { docker } from "./docker";

/** The pull module's channel ids: 32 hexadecimal characters. */
export function channelId(): string {
    return crypto.randomBytes(16).toString("hex");
}

/** A subscriber's channel parameter: `<id>.<hex HMAC-SHA1 of the id with the key>`. */
export function signChannel(id: string, key: string): string {
    return `${id}.${crypto.createHmac("sha1", key).update(id).digest("hex")}`;
}

/** Wall-clock milliseconds with sub-millisecond precision. */
export const wallMs = () => performance.timeOrigin + performance.now();

export interface PushMessage {
    /** Wall-clock ms when the frame arrived. */
    at: number;
    mid: string;
    channel: string;
    /** The published body, parsed as JSON when it is JSON. */
    text: unknown;
}

/** The frames of one websocket message or long-polling answer. */
export function parseFrames(data: string, at: number): PushMessage[] {
    const out: PushMessage[] = [];
    const re = /#!NGINXNMS!#([\s\S]*?)#!NGINXNME!#/g;
    for (let m = re.exec(data); m; m = re.exec(data)) {
        const f = JSON.parse(m[1]) as { mid: string; channel: string; text: unknown };
        out.push({ at, mid: f.mid, channel: f.channel, text: f.text });
    }
    return out;
}

export interface SubscriberOptions {
    /** Client pings this often; a connection without a pong for three intervals is dropped. @default 1000 */
    pingMs?: number;
    /** Wait before reconnecting. @default 100 */
    reconnectMs?: number;
}

export interface Subscriber {
    readonly messages: PushMessage[];
    /** Wall-clock ms of each (re)connection, and of each loss of the connection. */
    readonly opened: number[];
    readonly lost: number[];
    /** Resolves when connected the first time. */
    readonly ready: Promise<void>;
    close(): void;
}

/** A websocket subscriber through `base` (https://address) that reconnects with the last message id. */
export function subscribe(base: string, channel: string, key: string, opts: SubscriberOptions = {}): Subscriber {
    const pingMs = opts.pingMs ?? 1000;
    const messages: PushMessage[] = [];
    const opened: number[] = [];
    const lost: number[] = [];
    let closed = false;
    let ws: WebSocket | undefined;
    let readyResolve: () => void = () => undefined;
    const ready = new Promise<void>((r) => (readyResolve = r));
    const wsBase = base.replace(/^http/, "ws").replace(/\/$/, "");
    const connect = () => {
        if (closed) return;
        const mid = messages.length ? `&mid=${messages[messages.length - 1].mid}` : "";
        const socket = new WebSocket(`${wsBase}/bitrix/subws/?CHANNEL_ID=${signChannel(channel, key)}${mid}`, {
            rejectUnauthorized: false,
            handshakeTimeout: 3000,
        });
        ws = socket;
        let alive = Date.now();
        let timer: NodeJS.Timeout | undefined;
        let down = false;
        const drop = () => {
            if (down) return;
            down = true;
            clearInterval(timer);
            if (opened.length > lost.length) lost.push(wallMs());
            socket.terminate();
            if (!closed) setTimeout(connect, opts.reconnectMs ?? 100);
        };
        socket.on("open", () => {
            opened.push(wallMs());
            readyResolve();
            alive = Date.now();
            timer = setInterval(() => {
                if (Date.now() - alive > 3 * pingMs) drop();
                else socket.ping();
            }, pingMs);
        });
        socket.on("pong", () => (alive = Date.now()));
        socket.on("message", (data: WebSocket.RawData) => {
            // Frames are answers from the server too.
            alive = Date.now();
            const text = Array.isArray(data)
                ? Buffer.concat(data).toString()
                : Buffer.isBuffer(data)
                  ? data.toString()
                  : Buffer.from(data).toString();
            messages.push(...parseFrames(text, wallMs()));
        });
        socket.on("close", drop);
        socket.on("error", drop);
    };
    connect();
    return {
        messages,
        opened,
        lost,
        ready,
        close: () => {
            closed = true;
            ws?.terminate();
        },
    };
}

export interface Published {
    seq: number;
    /** Wall-clock ms when the web node sent it. */
    sentAt: number;
    /** HTTP status from the local route ("000": no answer). */
    status: string;
}

/**
 * Publishes `{"seq":…,"t":<ns>}` to the channels from inside `webContainer`, through its local route
 * (127.0.0.1:8895, as the pull module's path_to_publish).
 */
export async function publishFromWeb(webContainer: string, channels: string[], seq: number): Promise<Published> {
    const script =
        't=$(date +%s%N); code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 5 -X POST ' +
        '--data-binary "{\\"seq\\":$1,\\"t\\":$t}" "http://127.0.0.1:8895/bitrix/pub/?CHANNEL_ID=$2"); echo "$t $code"';
    const out = (await docker(["exec", webContainer, "sh", "-c", script, "sh", String(seq), channels.join("/")])).trim();
    const [t, status] = out.split(" ");
    return { seq, sentAt: Number(t) / 1e6, status };
}

/** The seq of a message published by publishFromWeb, or undefined. */
export function seqOf(m: PushMessage): number | undefined {
    const t = m.text as { seq?: unknown } | null;
    return t && typeof t === "object" && typeof t.seq === "number" ? t.seq : undefined;
}

/** Delivery latency of a published message to a subscriber, in ms (undefined: not received). */
export function latencyMs(sub: Subscriber, p: Published): number | undefined {
    const m = sub.messages.find((x) => seqOf(x) === p.seq);
    return m ? m.at - p.sentAt : undefined;
}

/** Polls `check` every 50 ms until it holds; false after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const t0 = Date.now();
    while (!check()) {
        if (Date.now() - t0 > timeoutMs) return false;
        await new Promise((r) => setTimeout(r, 50));
    }
    return true;
}
