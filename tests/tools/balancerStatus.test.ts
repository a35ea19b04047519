import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { notInRotation, waitForRotation, webServerRows } from "../../tools/balancerStatus";

/** A balancer's status CSV as HAProxy 2.6 (Debian 12) writes it, captured from a dev stack; counts edited. */
const CSV = fs.readFileSync(path.join(__dirname, "../../../tests/fixtures/haproxy/stats.csv"), "utf8");

describe("web server rows from a balancer's status CSV", () => {
    it("reads each web server's state, last check and DOWN count; leaves out the backend row", () => {
        assert.deepEqual(webServerRows(CSV), {
            "web-1": { status: "UP", check: "L7OK 200 9ms", chkdown: 2 },
            "web-2": { status: "UP", check: "L7OK 200 9ms", chkdown: 0 },
        });
    });

    it("tells a timed-out check from a drained node (503) from a refused connection", () => {
        const [header, ...rows] = CSV.trim().split("\n");
        const cols = header.replace(/^# /, "").split(",");
        const edit = (row: string, values: Record<string, string>) => {
            const f = row.split(",");
            for (const [k, v] of Object.entries(values)) f[cols.indexOf(k)] = v;
            return f.join(",");
        };
        const csv = [
            header,
            edit(rows[0], { status: "DOWN", check_status: "L7TOUT", check_code: "", check_duration: "501" }),
            edit(rows[1], { status: "UP 1/3", check_status: "L7STS", check_code: "503", check_duration: "3" }),
            edit(rows[1], { svname: "web-3", status: "DOWN", check_status: "L4CON", check_code: "", check_duration: "" }),
        ].join("\n");
        const r = webServerRows(csv);
        assert.deepEqual(
            Object.entries(r).map(([s, x]) => `${s}:${x.status}:${x.check}`),
            ["web-1:DOWN:L7TOUT 501ms", "web-2:UP 1/3:L7STS 503 3ms", "web-3:DOWN:L4CON"],
        );
    });

    it("refuses a CSV without the columns it reads", () => {
        assert.throws(() => webServerRows("# pxname,svname,status\nweb,web-1,UP\n"), /status CSV: no chkdown column/);
    });
});

/** The fixture with one web server's status and check replaced. */
function withServer(server: string, status: string, check: [string, string, string]): string {
    const [header, ...rows] = CSV.trim().split("\n");
    const cols = header.replace(/^# /, "").split(",");
    return [
        header,
        ...rows.map((row) => {
            const f = row.split(",");
            if (f[cols.indexOf("svname")] !== server) return row;
            f[cols.indexOf("status")] = status;
            [f[cols.indexOf("check_status")], f[cols.indexOf("check_code")], f[cols.indexOf("check_duration")]] = check;
            return f.join(",");
        }),
    ].join("\n");
}

describe("waiting until the balancers have every web node back", () => {
    it("names what is out: a server not UP with its check, a page that does not answer, a page without servers", () => {
        assert.deepEqual(notInRotation("b1", CSV), []);
        assert.deepEqual(notInRotation("b1", withServer("web-2", "DOWN 1/2", ["L7OK", "200", "5"])), ["b1 web-2 DOWN 1/2 (L7OK 200 5ms)"]);
        assert.deepEqual(notInRotation("b2", new Error("curl: (7) Failed to connect\nmore")), ["b2: curl: (7) Failed to connect"]);
        assert.deepEqual(notInRotation("b3", CSV.split("\n")[0]), ["b3: no web server listed"]);
    });

    it("returns once every page shows every server UP, looking again while one is recovering or a page is down", () => {
        const pages: Record<string, Array<string | Error>> = {
            b1: [withServer("web-1", "DOWN", ["L7STS", "503", "3"]), withServer("web-1", "DOWN 1/2", ["L7OK", "200", "4"]), CSV],
            b2: [new Error("connection refused"), CSV, CSV],
        };
        let clock = 0;
        const looks: string[] = [];
        const waited = waitForRotation({
            statusUrls: ["b1", "b2"],
            fetchCsv: (url) => {
                looks.push(url);
                const next = pages[url].shift()!;
                if (next instanceof Error) throw next;
                return next;
            },
            now: () => clock,
            pause: () => (clock += 500),
        });
        assert.equal(waited, 1);
        assert.deepEqual(looks, ["b1", "b2", "b1", "b2", "b1", "b2"]);
    });

    it("fails at the deadline, naming the server still out and the check that keeps it out", () => {
        let clock = 0;
        assert.throws(
            () =>
                waitForRotation({
                    statusUrls: ["b1"],
                    fetchCsv: () => withServer("web-2", "DOWN", ["L7STS", "503", "12"]),
                    timeoutS: 5,
                    now: () => clock,
                    pause: () => (clock += 1000),
                }),
            /not every web node is back in rotation after 5 s: b1 web-2 DOWN \(L7STS 503 12ms\)/,
        );
        assert.equal(clock, 5000);
    });
});
