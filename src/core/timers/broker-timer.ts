// The broker's timer names: a few broker-wide ones today, and the per-partition and per-peer
// shapes that replication and metadata Raft arm (electionTimeout, heartbeat, replicaLagCheck,
// a follower's fetch) without adding a field to the broker's state.
import { TimerQueue } from "./timer-queue.js";

/** The broker-wide timers. */
export type BrokerTimerName = "hwCheckpoint" | "syncInterval" | "cleaner" | "compaction" | "diskFullRetry" | "raftTick" | "raftRestart" | "brokerInfo" | "raftJoin" | "seedProbe";

/** A named broker timer. */
export type BrokerTimer =
  | { readonly kind: BrokerTimerName }
  | { readonly kind: "partition"; readonly stream: string; readonly partition: number; readonly name: string }
  | { readonly kind: "peer"; readonly peer: string; readonly name: string };

/** The canonical name of a timer: equal timers have equal ids, and ids order equal deadlines. */
export function brokerTimerId(timer: BrokerTimer): string {
  if (timer.kind === "partition") return `partition\u0000${timer.name}\u0000${timer.stream}\u0000${timer.partition}`;
  if (timer.kind === "peer") return `peer\u0000${timer.name}\u0000${timer.peer}`;
  return timer.kind;
}

/** An empty queue of broker timers. */
export function brokerTimers(): TimerQueue<BrokerTimer> {
  return new TimerQueue<BrokerTimer>(brokerTimerId);
}
