import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger, logCoreEvents } from "../../src/io/logger.js";

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

test("JSON format writes one JSON line per entry with level name, msg, time and name", () => {
  const out = sink();
  const logger = createLogger({ level: "info", format: "json", name: "broker", destination: out.stream });
  logger.info({ stream: "foo", partition: 0 }, "partition started");
  logger.debug("hidden below the level");
  logger.warn("careful");
  const lines = out.text().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!["level"], "info");
  assert.equal(lines[0]!["msg"], "partition started");
  assert.equal(lines[0]!["name"], "broker");
  assert.equal(lines[0]!["stream"], "foo");
  assert.equal(lines[0]!["partition"], 0);
  assert.match(String(lines[0]!["time"]), /^\d{4}-\d\d-\d\dT/);
  assert.equal(lines[1]!["level"], "warn");
});

test("logCoreEvents renders core LogEvents with bigint fields as exact decimal strings", () => {
  const out = sink();
  const logger = createLogger({ level: "debug", format: "json", destination: out.stream });
  const wallNs = 1_700_000_000_123_456_789n; // beyond 2^53: a JSON number would round it
  logCoreEvents(logger, [
    { level: "info", msg: "appended", fields: { stream: "s", offset: 41, leaderEpoch: 3, timestampNs: wallNs, paused: false } },
    { level: "error", msg: "fsync failed" },
    { level: "debug", msg: "tick" },
  ]);
  const lines = out.text().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.deepEqual(
    { level: lines[0]!["level"], msg: lines[0]!["msg"], offset: lines[0]!["offset"], ts: lines[0]!["timestampNs"], paused: lines[0]!["paused"] },
    { level: "info", msg: "appended", offset: 41, ts: "1700000000123456789", paused: false },
  );
  assert.deepEqual([lines[1]!["level"], lines[1]!["msg"]], ["error", "fsync failed"]);
  assert.equal(lines[2]!["level"], "debug");
});

test("logCoreEvents respects the logger's level", () => {
  const out = sink();
  const logger = createLogger({ level: "warn", format: "json", destination: out.stream });
  logCoreEvents(logger, [{ level: "info", msg: "quiet" }, { level: "warn", msg: "loud" }]);
  assert.deepEqual(out.text().trim().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg), ["loud"]);
});

test("pretty format writes human-readable lines synchronously, including bigints", () => {
  const out = sink();
  const logger = createLogger({ level: "info", format: "pretty", name: "broker", destination: out.stream });
  logCoreEvents(logger, [{ level: "warn", msg: "segment rolled", fields: { baseOffset: 1024, timestampNs: 1_700_000_000_000_000_001n } }]);
  const text = out.text();
  assert.match(text, /WARN/);
  assert.match(text, /segment rolled/);
  assert.match(text, /1700000000000000001/);
  assert.doesNotMatch(text, /^\{/, "not JSON");
});
