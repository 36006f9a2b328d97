// No silent settings, per stream: one cleaner runs for every log at streams.cleaner.interval, so
// CreateStream refuses another cleanerInterval instead of storing a value it would ignore.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

const create = (cleanerIntervalMs: number | undefined): ApiRequest => ({
  kind: "createStream", name: `s${cleanerIntervalMs ?? "-"}`, subject: `s${cleanerIntervalMs ?? "-"}`, group: "", replicationFactor: 0, partitions: 0,
  overrides: cleanerIntervalMs === undefined ? {} : { cleanerIntervalMs },
});

test("CreateStream accepts no cleanerInterval or the server's, and refuses another naming the option", () => {
  const h = new BrokerHarness();
  assert.equal(h.request(create(undefined)).ok, true);
  assert.equal(h.request(create(5 * 60 * 1000)).ok, true, "the server default (5m) is accepted");
  const r = h.request(create(1000));
  assert.ok(!r.ok);
  assert.equal(r.error.code, "InvalidArgument");
  assert.match(r.error.message, /^cleanerInterval: not supported yet \(only the server's streams.cleaner.interval, 300000 ms/);
});
