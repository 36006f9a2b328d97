// Rewrites a stopped broker's data directory the way the single-node version laid it out: the
// metadata in metadata/metadata.log (one frame per op), no raft/ directory. On its next start the
// broker recovers that log exactly as the single-node version did (same refusals, lost+found,
// --metadata-recovery) and moves it into the Raft log: tests of the old log's damage use this.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRecord } from "../src/core/metadata/metadata-log.js";
import type { MetadataOp } from "../src/core/metadata/metadata-op.js";
import { nodeId } from "../src/core/types.js";

/** A createStream op as the single-node version recorded it (every partition on `serverId`). */
export function singleNodeCreateStream(serverId: string, name: string, subject: string, partitions = 1): MetadataOp {
  return {
    op: "createStream", name, subject, group: "", replicationFactor: 1, partitions, overrides: {},
    creationTimestampNs: "1", replicas: Array.from({ length: partitions }, () => [nodeId(serverId)]),
  };
}

/** Replaces the metadata of the (stopped) broker in `dataDir` with a single-node metadata log of `ops`. */
export function writeSingleNodeMetadata(dataDir: string, ops: readonly MetadataOp[]): void {
  rmSync(join(dataDir, "raft"), { recursive: true, force: true });
  mkdirSync(join(dataDir, "metadata"), { recursive: true });
  writeFileSync(join(dataDir, "metadata", "metadata.log"), Buffer.concat(ops.map((op) => encodeRecord(op))));
}

/** The latest leader epoch in a partition directory's leader-epoch-checkpoint ("0\n<count>\n<epoch> <offset>\n..."). */
export function latestLeaderEpoch(partitionDir: string): number {
  const lines = readFileSync(join(partitionDir, "leader-epoch-checkpoint"), "utf8").trim().split("\n");
  return Number(lines[lines.length - 1]?.split(" ")[0]);
}
