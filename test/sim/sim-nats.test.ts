// The simulated NATS: routing, each network fault on its own, disconnects with resubscription, and
// determinism (a seed replays to the same deliveries).
import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_SIM_NATS_FAULTS, SimNatsServer, type SimNatsFaults } from "../../sim/sim-nats.js";
import { Simulation } from "../../sim/simulation.js";

function run(faults: Partial<SimNatsFaults>, seed = 1, count = 200): { got: number[]; server: SimNatsServer; sim: Simulation } {
  const sim = new Simulation(seed);
  const server = new SimNatsServer(sim, sim.random("nats"), { ...NO_SIM_NATS_FAULTS, ...faults });
  const a = server.connect("a");
  const b = server.connect("b");
  const got: number[] = [];
  b.subscribe("s.*", "", (m) => got.push(m.data[0] as number));
  for (let i = 0; i < count; i++) sim.scheduleAt(i, "pub", () => a.publish("s.x", "", Uint8Array.of(i % 256)));
  sim.runUntilIdle(100_000);
  return { got, server, sim };
}

test("without faults every message arrives once, in order", () => {
  const { got } = run({ delayMsMax: 20 });
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i % 256));
});

test("drops lose messages, duplicates repeat them, reordering breaks the order", () => {
  const dropped = run({ dropPerMille: 300 });
  assert.ok(dropped.got.length < 180 && dropped.got.length > 100, `some dropped (${dropped.got.length} arrived)`);
  assert.equal(dropped.server.counters.dropped, 200 - dropped.got.length);
  const duplicated = run({ duplicatePerMille: 300 });
  assert.ok(duplicated.got.length > 220, `some duplicated (${duplicated.got.length} arrived)`);
  const sorted = [...duplicated.got].sort((x, y) => x - y);
  assert.deepEqual(duplicated.got, sorted, "FIFO per link without reordering");
  const reordered = run({ delayMsMax: 20, reorder: true });
  assert.equal(reordered.got.length, 200);
  assert.notDeepEqual(reordered.got, Array.from({ length: 200 }, (_, i) => i), "reordered");
});

test("a long tail delays a few messages by up to tailDelayMsMax", () => {
  const { sim } = run({ tailPerMille: 100, tailDelayMsMax: 5000 });
  assert.ok(sim.nowMs > 1000, `the last delivery came late (${sim.nowMs} ms)`);
});

test("a disconnect loses messages in flight; reconnecting resubscribes", () => {
  const sim = new Simulation(3);
  const server = new SimNatsServer(sim, sim.random("nats"), { ...NO_SIM_NATS_FAULTS, delayMsMax: 10 });
  const a = server.connect("a");
  const b = server.connect("b");
  const got: string[] = [];
  b.subscribe("x", "", (m) => got.push(new TextDecoder().decode(m.data)));
  a.publish("x", "", new TextEncoder().encode("in-flight"));
  b.disconnect();
  a.publish("x", "", new TextEncoder().encode("while-down"));
  b.publish("x", "", new TextEncoder().encode("from-down"));
  sim.runUntilIdle(100);
  assert.deepEqual(got, []);
  b.reconnect();
  a.publish("x", "", new TextEncoder().encode("after"));
  sim.runUntilIdle(100);
  assert.deepEqual(got, ["after"]);
  assert.equal(server.counters.disconnects, 1);
});

test("same seed, same deliveries; another seed, others", () => {
  const faults = { dropPerMille: 100, duplicatePerMille: 100, delayMsMax: 20, reorder: true };
  assert.deepEqual(run(faults, 5).got, run(faults, 5).got);
  assert.equal(run(faults, 5).sim.traceHash, run(faults, 5).sim.traceHash);
  assert.notDeepEqual(run(faults, 5).got, run(faults, 6).got);
});

test("a cut link loses messages one way only (in flight too); the other way and healing work", () => {
  const sim = new Simulation(4);
  const server = new SimNatsServer(sim, sim.random("nats"), { ...NO_SIM_NATS_FAULTS, delayMsMax: 10 });
  const a = server.connect("a");
  const b = server.connect("b");
  const got: string[] = [];
  a.subscribe("to.a", "", (m) => got.push(`a:${new TextDecoder().decode(m.data)}`));
  b.subscribe("to.b", "", (m) => got.push(`b:${new TextDecoder().decode(m.data)}`));
  a.publish("to.b", "", new TextEncoder().encode("in-flight"));
  server.setLinkCut("a", "b", true);
  a.publish("to.b", "", new TextEncoder().encode("cut"));
  b.publish("to.a", "", new TextEncoder().encode("other-way"));
  sim.runUntilIdle(100);
  assert.deepEqual(got, ["a:other-way"]);
  assert.equal(server.counters.cut, 2);
  assert.ok(server.isLinkCut("a", "b") && !server.isLinkCut("b", "a"));
  server.healLinks();
  a.publish("to.b", "", new TextEncoder().encode("healed"));
  sim.runUntilIdle(100);
  assert.deepEqual(got, ["a:other-way", "b:healed"]);
});

test("cutting and healing links draws no randomness: a run without cuts replays as before", () => {
  const faults = { dropPerMille: 100, duplicatePerMille: 100, delayMsMax: 20, reorder: true };
  const plain = run(faults, 7);
  const sim = new Simulation(7);
  const server = new SimNatsServer(sim, sim.random("nats"), { ...NO_SIM_NATS_FAULTS, ...faults });
  server.setLinkCut("x", "y", true);
  server.setLinkCut("x", "y", false);
  const a = server.connect("a");
  const b = server.connect("b");
  const got: number[] = [];
  b.subscribe("s.*", "", (m) => got.push(m.data[0] as number));
  for (let i = 0; i < 200; i++) sim.scheduleAt(i, "pub", () => a.publish("s.x", "", Uint8Array.of(i % 256)));
  sim.runUntilIdle(100_000);
  assert.deepEqual(got, plain.got);
  assert.equal(sim.traceHash, plain.sim.traceHash);
});
