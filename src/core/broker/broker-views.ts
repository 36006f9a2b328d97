// FetchMetadata and FetchPartitionMetadata answers, built from the metadata state and the local
// partitions (a partition's offsets are this broker's view, as in Liftbridge).
import type { PartitionMeta, StreamMeta } from "../metadata/metadata-state.js";
import { offset } from "../types.js";
import type { BrokerView, PartitionMetadataView, StreamMetadataView } from "./api-types.js";
import { partitionKey, type BrokerState } from "./broker-state.js";

/** The broker list: this broker, then every other live one (heard from on the info subject), by id. */
export function brokerViews(state: BrokerState): BrokerView[] {
  const counts = new Map<string, { partitionCount: number; leaderCount: number }>();
  const count = (id: string): { partitionCount: number; leaderCount: number } => {
    let c = counts.get(id);
    if (c === undefined) counts.set(id, (c = { partitionCount: 0, leaderCount: 0 }));
    return c;
  };
  for (const stream of state.metadata.streams.values()) {
    for (const p of stream.partitions) {
      for (const r of p.replicas) count(r).partitionCount++;
      count(p.leader).leaderCount++;
    }
  }
  const self: BrokerView = { id: state.config.serverId, host: state.config.host, port: state.config.port, ...count(state.config.serverId) };
  const others = [...state.peers.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((p): BrokerView => ({ id: p.id, host: p.host, port: p.port, ...count(p.id) }));
  return [self, ...others];
}

/** Metadata of the named streams (all streams when `names` is empty), unknown ones flagged. */
export function streamViews(state: BrokerState, names: readonly string[]): StreamMetadataView[] {
  const wanted = names.length === 0 ? [...state.metadata.streams.keys()].sort() : names;
  return wanted.map((name): StreamMetadataView => {
    const stream = state.metadata.streams.get(name);
    if (stream === undefined) return { name, subject: "", error: "UNKNOWN_STREAM", partitions: [], creationTimestampNs: 0n };
    return {
      name, subject: stream.subject, error: "OK", creationTimestampNs: stream.creationTimestampNs,
      partitions: stream.partitions.map((p) => partitionView(state, stream, p)),
    };
  });
}

/** One partition's metadata as this broker sees it. */
export function partitionView(state: BrokerState, stream: StreamMeta, meta: PartitionMeta): PartitionMetadataView {
  const partition = state.partitions.get(partitionKey(stream.name, meta.id));
  const log = partition?.log;
  return {
    id: meta.id,
    leader: meta.leader,
    replicas: [...meta.replicas],
    isr: [...meta.isr],
    highWatermark: log?.highWatermark ?? offset(-1),
    newestOffset: log?.newestOffset ?? offset(-1),
    paused: meta.paused,
    readonly: meta.readonly,
    messagesReceivedTimestamps: { ...(partition?.messagesReceived ?? { firstNs: 0n, latestNs: 0n }) },
    pauseTimestamps: { ...meta.pauseTimestamps },
    readonlyTimestamps: { ...meta.readonlyTimestamps },
  };
}
