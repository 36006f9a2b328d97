// Data directories as the single-node version wrote them: its metadata in metadata/metadata.log
// (one crc-framed JSON op per record, metadata-log.ts), no Raft state. Tests write one before a
// broker first opens the directory, to exercise the migration and the old file's damage rules.
import { joinPath } from "../../src/core/disk.js";
import { encodeRecord } from "../../src/core/metadata/metadata-log.js";
import type { CreateStreamOp, MetadataOp } from "../../src/core/metadata/metadata-op.js";
import { nodeId, type NodeId } from "../../src/core/types.js";
import type { SimDisk } from "../sim-disk.js";

/** The legacy metadata log's path inside a data directory. */
export const LEGACY_METADATA_LOG = "metadata/metadata.log";

/** Writes (and syncs) `ops` as the single-node version's metadata log in `dataDir`. */
export function writeLegacyMetadataLog(disk: SimDisk, ops: readonly MetadataOp[], dataDir = ""): void {
  const dir = joinPath(dataDir, "metadata");
  const path = joinPath(dataDir, LEGACY_METADATA_LOG);
  if (disk.stat(dir) === undefined) disk.mkdir(dir);
  if (disk.stat(path) === undefined) disk.create(path);
  let at = disk.stat(path)?.size ?? 0;
  for (const op of ops) {
    const record = encodeRecord(op);
    disk.write(path, at, [record]);
    at += record.length;
  }
  disk.fdatasync(path);
  disk.syncDir(dir);
  disk.syncDir(dataDir);
}

/** A CreateStream op as the single-node version logged it: one replica (`server`) per partition. */
export function legacyCreateStream(name: string, over: Partial<CreateStreamOp> = {}, server: NodeId = nodeId("b1")): CreateStreamOp {
  const partitions = over.partitions ?? 1;
  return {
    op: "createStream", name, subject: name, group: "", replicationFactor: 1, partitions, overrides: {},
    creationTimestampNs: "1700000000000000000", replicas: Array.from({ length: partitions }, () => [server]), ...over,
  };
}
