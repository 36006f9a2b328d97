// The write side of the broker: NATS deliveries into partition batches, persist completions into
// high watermarks and acks, and the timers (high watermark checkpoint, interval sync, cleaner).
import { DEFAULT_MAX_CONTROL_LINE, fitsControlLine } from "../nats/control-line.js";
import { assert } from "../assert.js";
import type { DiskError } from "../disk.js";
import { isValidPublishSubject } from "../nats/subject.js";
import type { InputTime, Outputs } from "../outputs.js";
import type { BrokerEffect } from "./api-types.js";
import type { BrokerState, TimerName } from "./broker-state.js";
import type { AppendContext, NatsDelivery, Partition } from "./partition.js";
import type { AckFields } from "./wire-codec.js";

/** Groups a batch of deliveries by partition and appends each group as one batch. */
export function appendDeliveries(state: BrokerState, messages: readonly NatsDelivery[], time: InputTime, out: Outputs<BrokerEffect>): void {
  const groups = new Map<Partition, NatsDelivery[]>();
  for (const m of messages) {
    const partition = state.partitionsBySid.get(m.sid);
    if (partition === undefined) continue; // An unsubscribed sid: the message raced the UNSUB.
    const group = groups.get(partition);
    if (group === undefined) groups.set(partition, [m]);
    else group.push(m);
  }
  const ctx = appendContext(state, out);
  const max = state.config.batchMaxMessages;
  for (const [partition, group] of groups) {
    for (let i = 0; i < group.length; i += max) {
      partition.appendDeliveries(group.slice(i, i + max), time, state.nextToken, ctx);
    }
  }
}

/** A persist token came back: advance high watermarks, release ALL acks, wake subscribers. */
export function onPersisted(state: BrokerState, token: number, time: InputTime, out: Outputs<BrokerEffect>): void {
  completeToken(state, token);
  state.metadataLog.confirm();
  state.repairingDiskFull = false;
  const ctx = appendContext(state, out);
  for (const partition of state.partitions.values()) {
    if (partition.onPersisted(token, time, ctx)) state.dirty.add(partition);
  }
}

/**
 * A persist token failed. Disk full (ENOSPC) wrote nothing: cut the partitions back and go on.
 * Anything else (EIO) is fail-stop, as in Kafka and PostgreSQL: after a failed fsync the kernel may
 * have dropped pages that reads still return, so nothing written since the last confirmed sync can
 * be trusted or repaired in place. The broker stops writing and serving until it is restarted.
 */
export function onPersistFailed(state: BrokerState, token: number, error: DiskError, time: InputTime, out: Outputs<BrokerEffect>): void {
  completeToken(state, token);
  const ctx = appendContext(state, out);
  // A repair that fails again (the repair itself needs space) is fail-stop: never loop.
  if (error.code === "ENOSPC" && !state.repairingDiskFull) {
    state.repairingDiskFull = true;
    out.log.push({ level: "error", msg: "disk full: refusing writes that do not fit", fields: { token, error: error.message } });
    out.persist.push(...state.metadataLog.rewriteUnconfirmed());
    for (const partition of state.partitions.values()) partition.onPersistFailed(token, time, ctx, { code: "DiskFull", message: error.message });
    return;
  }
  state.failed = error.message;
  state.timers.clear();
  out.log.push({ level: "error", msg: "disk failed: the broker stops writing; check the disk and restart it", fields: { token, error: error.message } });
  for (const partition of state.partitions.values()) {
    if (partition.sid !== undefined) {
      out.reply.push({ kind: "natsUnsubscribe", sid: partition.sid });
      state.partitionsBySid.delete(partition.sid);
      partition.sid = undefined;
    }
    partition.failStop(time, ctx);
  }
  for (const sub of state.subscriptions.values()) {
    out.reply.push({ kind: "subscriptionEnded", subscriptionId: sub.id, error: { code: "DiskFailed", message: `disk failed: ${error.message}` } });
  }
  state.subscriptions.clear();
}

function completeToken(state: BrokerState, token: number): void {
  const first = state.inFlightTokens.shift();
  assert(first === token, `persist tokens complete in order: expected ${String(first)}, got ${token}`);
}

/** Fires every timer that is due. */
export function onTimer(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  for (const [name, at] of [...state.timers]) {
    if (at > time.nowMs) continue;
    fire(state, name, time, out);
  }
}

function fire(state: BrokerState, name: TimerName, time: InputTime, out: Outputs<BrokerEffect>): void {
  const logs = [...state.partitions.values()].flatMap((p) => (p.log === undefined ? [] : [p.log]));
  switch (name) {
    case "hwCheckpoint":
      for (const log of logs) out.persist.push(...log.checkpointHighWatermark());
      state.timers.set(name, time.nowMs + state.config.hwCheckpointIntervalMs);
      return;
    case "syncInterval":
      for (const log of logs) out.persist.push(...log.syncOps());
      state.timers.set(name, time.nowMs + state.config.syncIntervalMs);
      return;
    case "cleaner":
      for (const log of logs) {
        out.persist.push(...log.maybeRoll(time.nowMs));
        const cleaned = log.cleanup(time.nowMs, time.wallNs);
        out.persist.push(...cleaned.ops);
        out.log.push(...cleaned.events);
      }
      state.timers.set(name, time.nowMs + state.config.streamDefaults.cleanerIntervalMs);
      return;
  }
}

function appendContext(state: BrokerState, out: Outputs<BrokerEffect>): AppendContext {
  return {
    codec: state.deps.codec,
    reader: state.deps.reader,
    out,
    replicationMaxBytes: state.config.replicationMaxBytes,
    ackBeforePersist: state.config.plantedBugs?.ackBeforePersist === true,
    sendAck: (ack: AckFields, afterPersist: boolean) => {
      // NONE means no ack at all, and there is nowhere to send one without an inbox.
      if (ack.ackInbox.length === 0 || ack.ackPolicy === "NONE") return;
      // Nor to an inbox that is no publish subject: written into the broker's NATS connection,
      // "x 0\r\nPUB y ..." would publish for the client, and a malformed PUB cost the connection.
      if (!isValidPublishSubject(ack.ackInbox) || !fitsControlLine(ack.ackInbox, DEFAULT_MAX_CONTROL_LINE)) {
        out.log.push({ level: "warn", msg: "no ack sent: the ack inbox is not a valid NATS publish subject or is longer than NATS's max_control_line", fields: { ackInbox: ack.ackInbox.slice(0, 200) } });
        return;
      }
      const send = { subject: ack.ackInbox, data: state.deps.codec.encodeAck(ack) };
      (afterPersist ? out.sendAfterPersist : out.send).push(send);
    },
  };
}
