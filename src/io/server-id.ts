// The server id: stored in `<data.dir>/liftbridge` as protobuf ServerState{serverID} (spec §6.1);
// a stored id wins over configuration, so a restarted broker keeps its identity. A new id is
// stored only once the broker has recovered its data directory with it: a broker that refuses to
// start (its metadata names another id) leaves nothing behind that the next attempt would trust.
import { nuid } from "nats";
import type { Disk } from "../core/disk.js";
import { decodeProtoObject, encodeProtoObject } from "./wire/api-codec.js";

const FILE = "liftbridge";

/**
 * The stored server id, else the configured one or a fresh NUID (`stored` false: store it with
 * storeServerId once the broker started). A file that exists but holds no id is never replaced
 * (it is written atomically, so it cannot be torn: it was damaged): that throws, naming the file.
 */
export function loadServerId(disk: Disk, configured: string | undefined, dataDir = "the data directory"): { id: string; stored: boolean } {
  const stat = disk.stat(FILE);
  if (stat === undefined) return { id: configured ?? nuid.next(), stored: false };
  const decoded = decodeProtoObject("protocol.ServerState", disk.read(FILE, 0, stat.size));
  const id = decoded.ok ? decoded.value["serverID"] : undefined;
  if (typeof id === "string" && id.length > 0) return { id, stored: true };
  throw new Error(
    `the server id file "${FILE}" in ${dataDir} is damaged (${stat.size} bytes, no server id in it): ` +
    `restore it from a backup, or move it away and start with --server-id <the id this server had>`,
  );
}

/** Stores `id` durably (write a temporary file, fdatasync, rename over, sync the directory). */
export function storeServerId(disk: Disk, id: string): void {
  const tmp = `${FILE}.tmp`;
  disk.create(tmp);
  disk.write(tmp, 0, [encodeProtoObject("protocol.ServerState", { serverID: id })]);
  disk.fdatasync(tmp);
  disk.rename(tmp, FILE);
  disk.syncDir("");
  disk.close(FILE);
}
