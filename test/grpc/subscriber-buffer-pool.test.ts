// The server-wide Subscribe buffer pool: fair shares, reservations and waiters woken in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MIN_GRANT_BYTES, SubscriberBufferPool } from "../../src/io/grpc/subscriber-buffer-pool.js";

test("each call's share is the free memory divided by the calls, never negative", () => {
  const pool = new SubscriberBufferPool(1000 * 1024);
  for (let i = 0; i < 4; i++) pool.join();
  assert.equal(pool.fairShare, 250 * 1024);
  pool.take(600 * 1024);
  assert.equal(pool.fairShare, 100 * 1024);
  pool.take(1000 * 1024); // a chunk may overshoot by a record
  assert.equal(pool.free, 0);
  assert.equal(pool.fairShare, 0);
  pool.give(1600 * 1024);
  assert.equal(pool.held, 0);
  assert.equal(pool.fairShare, 250 * 1024);
});

test("grants reserved one after another never add up past the pool (no harmonic overshoot)", () => {
  const pool = new SubscriberBufferPool(128 * 1024 * 1024);
  let granted = 0;
  for (let i = 0; i < 2000; i++) {
    pool.join();
    const share = Math.min(2.5 * 1024 * 1024, pool.fairShare);
    if (share < MIN_GRANT_BYTES) continue;
    pool.take(share);
    granted += share;
  }
  assert.ok(granted <= 128 * 1024 * 1024, `${granted} granted`);
});

test("waiters are woken first come first served while a useful share is free, and a call that leaves is forgotten", () => {
  const pool = new SubscriberBufferPool(4 * MIN_GRANT_BYTES);
  const woken: string[] = [];
  const waiter = (name: string) => ({ poolReady: () => woken.push(name) });
  const [a, b, c] = [waiter("a"), waiter("b"), waiter("c")];
  pool.join();
  pool.join();
  pool.join();
  pool.take(4 * MIN_GRANT_BYTES);
  pool.wait(a);
  pool.wait(b);
  pool.wait(c);
  pool.leave(b);
  pool.give(MIN_GRANT_BYTES); // share 16 KiB: not worth a read
  assert.deepEqual(woken, []);
  pool.give(3 * MIN_GRANT_BYTES);
  assert.deepEqual(woken, ["a", "c"]);
});
