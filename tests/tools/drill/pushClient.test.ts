import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { describe, it } from "node:test";
import { channelId, parseFrames, seqOf, signChannel } from "../../../tools/drill/pushClient";

describe("push client", () => {
    it("makes channel ids of 32 hexadecimal characters, as the pull module does", () => {
        const ids = new Set(Array.from({ length: 50 }, channelId));
        assert.equal(ids.size, 50);
        for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
    });

    it("signs a channel id with the hex HMAC-SHA1 of the id under the key (the push server's validator)", () => {
        const id = "0123456789abcdef0123456789abcdef";
        assert.equal(signChannel(id, "key"), `${id}.${crypto.createHmac("sha1", "key").update(id).digest("hex")}`);
        assert.match(signChannel(id, "key"), /^[0-9a-f]{32}\.[0-9a-f]{40}$/);
        assert.notEqual(signChannel(id, "key"), signChannel(id, "other"));
    });

    it("reads every frame of a websocket message or long-polling answer, the body as JSON", () => {
        const frame = (mid: string, text: string) =>
            `#!NGINXNMS!#{"id":1,"mid":"${mid}","channel":"c","tag":"123","time":"x","text":${text}}#!NGINXNME!#`;
        const got = parseFrames(
            frame("17961954170000000000000001", '{"seq":7,"t":1}') + frame("17961954170000000000000002", '{"seq":8}'),
            42,
        );
        assert.deepEqual(
            got.map((m) => [m.mid, m.at, seqOf(m)]),
            [
                ["17961954170000000000000001", 42, 7],
                ["17961954170000000000000002", 42, 8],
            ],
        );
        assert.deepEqual(parseFrames("no frames here", 0), []);
        assert.equal(seqOf({ at: 0, mid: "", channel: "", text: "plain" }), undefined);
    });
});
