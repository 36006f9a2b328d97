// The server id: stored in `<data.dir>/liftbridge` as protobuf ServerState{serverID} (spec §6.1);
// a stored id wins over configuration, so a restarted broker keeps its identity.
import { nuid } from "nats";
import type { Disk } from "../core/disk.js";
import { decodeProtoObject, encodeProtoObject } from "./wire/api-codec.js";

const FILE = "liftbridge";

/**
 * Reads the stored server id, or stores (and returns) the configured one or a fresh NUID. A file
 * that exists but holds no id is never overwritten (it is written atomically, so it cannot be torn:
 * it was damaged): that throws, naming the file and what to do.
 */
export function loadOrCreateServerId(disk: Disk, configured: string | undefined, dataDir = "the data directory"): { id: string; stored: boolean } {
  const stat = disk.stat(FILE);
  if (stat !== undefined) {
    const decoded = decodeProtoObject("protocol.ServerState", disk.read(FILE, 0, stat.size));
    const id = decoded.ok ? decoded.value["serverID"] : undefined;
    if (typeof id === "string" && id.length > 0) return { id, stored: true };
    throw new Error(
      `the server id file "${FILE}" in ${dataDir} is damaged (${stat.size} bytes, no server id in it): ` +
      `restore it from a backup, or move it away and start with --server-id <the id this server had>`,
    );
  }
  const id = configured ?? nuid.next();
  const tmp = `${FILE}.tmp`;
  disk.create(tmp);
  disk.write(tmp, 0, [encodeProtoObject("protocol.ServerState", { serverID: id })]);
  disk.fdatasync(tmp);
  disk.rename(tmp, FILE);
  disk.syncDir("");
  disk.close(FILE);
  return { id, stored: false };
}
