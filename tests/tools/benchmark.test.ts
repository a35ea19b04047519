import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ProvisioningPeer } from "../../tools/bench/provisioningPeer";
import { machineLine, table } from "../../tools/benchmark";
import { compare, RunFigures } from "../../tools/bench/paired";

const wrk = (reqPerS: number, p99Ms: number): RunFigures => ({ reqPerS, p50Ms: 2, p99Ms, requests: reqPerS * 10, errors: 0 });

/** An interruption's figures the table does not print. */
const quiet = { failedInFlight: 0, gapS: 0, errors: {} };

const peer: ProvisioningPeer = {
    coldUpS: 71.2,
    coldWaitS: 0,
    composeUpS: 60.3,
    composeWaitS: 4.1,
    noopUpS: 9.8,
    composeNoopS: 1.4,
    ratio: 1.18,
    services: 14,
    leftOut: ["command:local:Command × 2"],
    leftover: [],
};

describe("benchmark table", () => {
    const results: Parameters<typeof table>[0] = {
        coldUpS: 151.2,
        noopUpS: 9.8,
        previewS: { 2: 7.1, 4: 7.9, 8: 9.4, 16: 12.6 },
        throughput: {
            balancer: { requests: 3000, failed: 0, reqPerS: 200, p50Ms: 30.1, p99Ms: 81.5 },
            directNode: { requests: 6000, failed: 0, reqPerS: 400, p50Ms: 12.2, p99Ms: 40.3 },
        },
        peers: {
            balancer: {
                keepAlive: compare("wrk", "keep-alive", [wrk(900, 10), wrk(960, 10)], [wrk(1000, 9), wrk(1000, 9)]),
                newConnection: compare("wrk", "new-connection", [wrk(400, 5)], [wrk(300, 6)]),
                fullHandshake: compare("node", "full-handshake", [wrk(200, 40)], [wrk(250, 30)]),
            },
            tls: {
                keys: { ours: "id-ecPublicKey 256 bit", peer: "rsaEncryption 2048 bit" },
                fullHandshake: compare("node", "full-handshake", [wrk(400, 5)], [wrk(200, 5)]),
            },
            provisioning: peer,
        },
        drills: {
            webNode: {
                ...quiet,
                failed: 0,
                requests: 400,
                ejectionS: 8.9,
                session: { before: 3, after: 4, nodeAfter: "web-2" },
                backS: 4.4,
                pass: true,
            },
            rollingUpdate: {
                ...quiet,
                updateS: 61.5,
                failed: 0,
                requests: 900,
                minUp: 1,
                replaced: true,
                applied: true,
                pass: true,
                outOfRotation: [
                    { server: "web-1", fromS: 2.04, toS: 19.5 },
                    { server: "web-2", fromS: 21, toS: 38.25 },
                ],
            },
            redisMaster: {
                sessions: { ...quiet, requests: 10, failed: 0, backS: 12.4 },
                cache: { ...quiet, requests: 10, failed: 0, backS: 11.9 },
                lost: 0,
                users: 50,
                locks: { ...quiet, requests: 40, failed: 30, backS: 9.6, longestS: 7.7, lostWrites: 0 },
                pass: false,
            },
            dbMaster: { error: "drill db-master: expected exactly one writable server", pass: false },
        },
    };
    const t = table(results);

    it("prints every figure with its unit and the goal it is held to", () => {
        assert.match(t, /^\| figure \| value \| goal \|$/m);
        assert.match(t, /^\| cold `pulumi up` \(new stack; image layers from the Docker cache\) \| 151\.2 s \| \|$/m);
        assert.match(t, /^\| `pulumi preview`, 16 web nodes \| 12\.6 s \| \|$/m);
        assert.match(t, /through the balancer .* \| 200 req\/s, p50 30\.1 ms, p99 81\.5 ms, 0 failed \|/);
        assert.match(
            t,
            /rolling-update drill: .* \| 61\.5 s, 0\/900 failed, fewest nodes UP 1, out of rotation web-1 2\.0–19\.5 s, web-2 21\.0–38\.3 s \| 0 failed, one node at a time: met \|/,
        );
        assert.match(
            t,
            /web-node drill: web-1 killed \| 0\/400 failed, DOWN after 8\.9 s, session 3 → 4 \| 0 failed, ≤ 15 s: met; raised goal 0 failed, DOWN ≤ 5 s: \*\*missed\*\* \|/,
        );
    });

    it("compares cold and no-op pulumi up with docker-compose up -d of the same containers, against the goal", () => {
        assert.match(
            t,
            /^\| cold `pulumi up` vs `docker-compose up -d` \(same 14 containers, until healthy\) \| 71\.2 s vs 60\.3 s, 1\.18× \| ≤ 1\.3×: met \|$/m,
        );
        assert.match(t, /^\| no-op `pulumi up` vs `docker-compose up -d` on the running copy \| 9\.8 s vs 1\.4 s \| \|$/m);
        assert.doesNotMatch(t, /left behind/);
        const slow = table({
            peers: {
                provisioning: {
                    ...peer,
                    coldUpS: 90.5,
                    coldWaitS: 2.5,
                    ratio: 1.5,
                    leftover: ["bx-bench-net"],
                },
            },
        });
        assert.match(slow, /\| 90\.5 s \(2\.5 s of it after `pulumi up` returned\) vs 60\.3 s, 1\.50× \| ≤ 1\.3×: \*\*missed\*\* \|/);
        assert.match(slow, /^\| compose copy left behind after `down -v` \| bx-bench-net \| nothing: \*\*missed\*\* \|$/m);
        const failed = table({ peers: { provisioning: { error: "docker-compose up -d failed: boom", pass: false } } });
        assert.match(
            failed,
            /^\| cold `pulumi up` vs `docker-compose up -d` \| did not finish: docker-compose up -d failed: boom \| \*\*missed\*\* \|$/m,
        );
    });

    it("prints each peer row with both sides' figures, every run, the ratios and the ≥ 1.0× goal", () => {
        assert.match(
            t,
            /^\| balancer vs nginx \(seeds' config\), keep-alive \(wrk\) \| ours 930 req\/s, p50 2 ms, p99 10 ms \(runs 900\/960\); nginx 1000 req\/s, p50 2 ms, p99 9 ms \(runs 1000\/1000\); ratio req\/s 0\.93×, p99 0\.9× \| ≥ 1\.0× each: \*\*missed\*\* \|$/m,
        );
        assert.match(
            t,
            /^\| balancer vs nginx \(seeds' config\), new connection per request, TLS session resumed \(wrk\) \| ours 400 req\/s.*; ratio req\/s 1\.33×, p99 1\.2× \| ≥ 1\.0× each: met \|$/m,
        );
        assert.match(
            t,
            /full TLS handshake \(node\) \| ours 200 req\/s.*; nginx 250 req\/s.*; ratio req\/s 0\.8×, p99 0\.75× \| ≥ 1\.0× each: \*\*missed\*\* \|$/m,
        );
        assert.match(
            t,
            /^\| TLS at our balancer, ECDSA P-256 \(id-ecPublicKey 256 bit\) vs RSA 2048 \(rsaEncryption 2048 bit\), new connection per request, full TLS handshake \(node\) \| ECDSA 400 req\/s.*; RSA 200 req\/s.*; ratio req\/s 2×, p99 1× \| \|$/m,
        );
    });

    it("marks a peer that did not start", () => {
        assert.match(
            table({ peers: { balancer: { error: "nginx did not answer" } } }),
            /^\| balancer vs nginx \(seeds' config\) \| did not finish: nginx did not answer \| \*\*missed\*\* \|$/m,
        );
    });

    it("marks a missed goal and a drill that did not finish, and leaves out drills that did not run", () => {
        assert.match(
            t,
            /redis-master drill: master killed \| sessions back 12\.4 s, cache back 11\.9 s, 0\/50 sessions lost; same-session requests back 9\.6 s, longest 7\.7 s \| ≤ 10 s, 0 lost: \*\*missed\*\*; raised goal 0 lost, back ≤ 5 s: \*\*missed\*\* \|/,
        );
        assert.match(
            t,
            /^\| dbMaster drill \| did not finish: drill db-master: expected exactly one writable server \| \*\*missed\*\* \|$/m,
        );
        assert.doesNotMatch(t, /balancer drill|nfs drill|undefined/);
    });
});

describe("benchmark machine line", () => {
    it("names the machine and how busy it was", () => {
        assert.equal(
            machineLine({
                date: "2026-12-02T22:43:54.840Z",
                machine: "2 × AMD EPYC, 24 GiB, Linux 6.18.44",
                loadAverage: { median: 7.1, max: 14, samples: 60 },
            }),
            "Run 2026-12-02T22:43:54.840Z on 2 × AMD EPYC, 24 GiB, Linux 6.18.44; 1-min load average median 7.1, max 14 (60 samples).",
        );
        assert.equal(machineLine({ date: "d", machine: "m" }), "Run d on m.");
    });
});
