// The server id: stored in `<data.dir>/liftbridge` as protobuf ServerState{serverID} (spec §6.1);
// a stored id wins over configuration, so a restarted broker keeps its identity.
import { nuid } from "nats";
import type { Disk } from "../core/disk.js";
import { decodeProtoObject, encodeProtoObject } from "./wire/api-codec.js";

const FILE = "liftbridge";

/** Reads the stored server id, or stores (and returns) the configured one or a fresh NUID. */
export function loadOrCreateServerId(disk: Disk, configured: string | undefined): { id: string; stored: boolean } {
  const stat = disk.stat(FILE);
  if (stat !== undefined) {
    const decoded = decodeProtoObject("protocol.ServerState", disk.read(FILE, 0, stat.size));
    const id = decoded.ok ? decoded.value["serverID"] : undefined;
    if (typeof id === "string" && id.length > 0) return { id, stored: true };
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
