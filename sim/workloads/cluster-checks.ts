// The cluster workload's end checks and its stale-view watch. After the faults heal every live
// broker must hold the same streams (names, partitions, leaders, epochs, flags), one controller
// must lead, and each partition's leader must serve it from its directory. Meanwhile every
// removal of a stream directory is compared with what the removing broker knew just before:
// removing the directory of a stream incarnation that is still live at the end, on the broker that
// leads it, is the stale view issue 12 forbids ("never removes or recreates partitions from a stale
// view").
import type { Broker } from "../../src/core/broker/broker.js";
import { partitionKey } from "../../src/core/broker/broker-state.js";
import type { StreamMeta } from "../../src/core/metadata/metadata-state.js";
import { SimDisk, type SimDiskOptions } from "../sim-disk.js";

/** One incarnation of a stream: its name and what tells a recreated stream apart (as snapshotChanges does). */
export function incarnation(stream: StreamMeta): string {
  return `${stream.name}@${stream.creationTimestampNs}/${stream.partitions[0]?.leaderEpoch ?? 0}`;
}

/** A removal of a stream directory, with the incarnation whose partitions the broker had opened there. */
export interface StreamDirRemoval {
  readonly broker: string;
  readonly name: string;
  readonly atMs: number;
  /** The incarnation the directory held (undefined: none this broker opened since the last removal). */
  readonly held: string | undefined;
}

/** A SimDisk that reports every removeTree of a stream directory (streams/<name>). */
export class StreamDirWatchDisk extends SimDisk {
  constructor(options: SimDiskOptions, private readonly onRemoved: (name: string) => void) {
    super(options);
  }

  override removeTree(path: string): void {
    super.removeTree(path);
    const parts = path.split("/").filter((p) => p !== "");
    if (parts.length === 2 && parts[0] === "streams") this.onRemoved(parts[1] as string);
  }
}

/** A comparable text of one broker's streams (what must be equal on every broker once converged). */
export function describeStreams(broker: Broker): string {
  const streams = [...broker.view.metadata.streams.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return streams.map((s) => `${incarnation(s)}[${s.partitions.map((p) => `${p.id}:${p.leader}:e${p.leaderEpoch}:${p.paused ? "P" : ""}${p.readonly ? "R" : ""}`).join(",")}]`).join(" ");
}

/** One broker's Raft state in a line (failure messages). */
export function describeRaft(id: string, broker: Broker | undefined): string {
  if (broker === undefined) return `${id}:down`;
  const node = broker.view.raft.node;
  const conf = node.confState();
  return `${id}:${node.role}/t${node.term}/lead=${node.lead || "-"}/commit=${node.commitIndex}/last=${node.lastIndex}/applied=${broker.view.metadata.lastAppliedIndex}` +
    `/voters=${conf.voters.join(",")}${conf.learners.length > 0 ? `/learners=${conf.learners.join(",")}` : ""}${broker.view.raftDown ? "/raftDown" : ""}${broker.view.failed !== undefined ? "/failed" : ""}`;
}

/** The convergence check over the live brokers: one answer per problem, undefined when none. */
export function checkConverged(brokers: ReadonlyMap<string, Broker>): string | undefined {
  const views = [...brokers].map(([id, b]) => ({ id, streams: describeStreams(b), leader: b.view.raft.node.role === "leader", term: b.view.raft.node.term, lead: b.view.raft.node.lead }));
  const first = views[0];
  if (first === undefined) return "no broker is up after the faults healed";
  const differ = views.find((v) => v.streams !== first.streams);
  if (differ !== undefined) return `brokers disagree on the streams after healing: ${first.id} has {${first.streams}}, ${differ.id} has {${differ.streams}}`;
  const leaders = views.filter((v) => v.leader);
  if (leaders.length !== 1) return `expected one controller after healing, found ${leaders.length} (${views.map((v) => `${v.id}:t${v.term}:lead=${v.lead || "-"}`).join(" ")})`;
  const controller = (leaders[0] as { id: string }).id;
  const stray = views.find((v) => v.lead !== controller);
  if (stray !== undefined) return `broker ${stray.id} follows ${stray.lead || "nobody"}, the controller is ${controller}`;
  return undefined;
}

/** Each live stream's partitions are open on the broker that leads them (their data survived). */
export function checkLeadersServe(brokers: ReadonlyMap<string, Broker>): string | undefined {
  for (const broker of brokers.values()) {
    for (const stream of broker.view.metadata.streams.values()) {
      for (const p of stream.partitions) {
        const leader = brokers.get(p.leader);
        if (leader === undefined || p.paused) continue;
        const served = leader.view.partitions.get(partitionKey(stream.name, p.id));
        if (served?.log === undefined) return `partition ${stream.name}/${p.id} is not open on its leader ${p.leader} (role ${served?.role.kind ?? "none"})`;
      }
    }
  }
  return undefined;
}

/**
 * The stale-view check: a removal is wrong when the directory held the incarnation that is still
 * live at the end and the broker leads one of its partitions (that partition's data is gone).
 */
export function checkRemovals(removals: readonly StreamDirRemoval[], finalStreams: ReadonlyMap<string, StreamMeta>): string | undefined {
  for (const r of removals) {
    const live = finalStreams.get(r.name);
    if (live === undefined || r.held !== incarnation(live)) continue;
    if (!live.partitions.some((p) => p.leader === r.broker)) continue;
    return `broker ${r.broker} removed the directory of live stream ${r.name} (${r.held}) that it leads, at ${r.atMs} ms`;
  }
  return undefined;
}
