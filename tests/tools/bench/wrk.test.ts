import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parseWrk, wrkArgs } from "../../../tools/bench/wrk";

const REPORT = `Running 10s test @ https://172.28.40.5/probe/?action=node
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.23ms    2.10ms  40.00ms   80.00%
    Req/Sec     1.54k   100.00     1.80k    70.00%
  Latency Distribution
     50%  812.00us
     75%    6.00ms
     90%    7.50ms
     99%    1.20s
  15360 requests in 10.00s, 3.00MB read
  Socket errors: connect 1, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:   1535.95
Transfer/sec:    307.00KB
`;

describe("wrk", () => {
    it("reads the rate, the percentiles in ms whatever wrk's unit, and counts every error", () => {
        assert.deepEqual(parseWrk(REPORT), { reqPerS: 1536, p50Ms: 0.81, p99Ms: 1200, requests: 15360, errors: 11 });
    });

    it("reads a clean report as 0 errors and refuses one without figures", () => {
        const clean = REPORT.replace(/ {2}Socket errors.*\n/, "").replace(/ {2}Non-2xx.*\n/, "");
        assert.equal(parseWrk(clean).errors, 0);
        assert.throws(() => parseWrk("unable to connect to 172.28.40.5:443 Connection refused"), /no request rate/);
    });

    it("asks for a new connection per request with Connection: close, keep-alive otherwise", () => {
        const url = "https://172.28.40.5/probe/?action=node";
        assert.deepEqual(wrkArgs(url, { mode: "keep-alive" }), ["-t1", "-c8", "-d10s", "--timeout", "5s", "--latency", url]);
        assert.deepEqual(wrkArgs(url, { mode: "new-connection", connections: 4, seconds: 5 }).slice(0, 3), ["-t1", "-c4", "-d5s"]);
        assert.deepEqual(wrkArgs(url, { mode: "new-connection" }).slice(-3), ["-H", "Connection: close", url]);
        assert.throws(() => wrkArgs("ftp://x", { mode: "keep-alive" }), /not an http\(s\) URL/);
        assert.throws(() => wrkArgs(url, { mode: "keep-alive", seconds: 0 }), /seconds must be a positive integer/);
    });
});
