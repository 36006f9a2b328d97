// Startup's rules for the metadata and the stream directories: never delete what the metadata
// cannot account for. A missing, emptied or corrupt metadata log is an error that names the file
// and what to do, unless the operator asked for recovery (--metadata-recovery); stream
// directories the metadata does not know are moved to lost+found/, never removed; only a stream
// whose DeleteStream is in a complete metadata log has its leftover directory removed.
import type { Crc32c } from "../crc32c.js";
import { joinPath, type DiskOp, type DiskReader } from "../disk.js";
import { err, ok, type Result } from "../errors.js";
import type { LogEvent } from "../outputs.js";
import type { NodeId, TimestampNs } from "../types.js";
import { LostAndFound } from "./lost-and-found.js";
import { MetadataLog, type OpenedMetadataLog } from "./metadata-log.js";
import { MetadataState } from "./metadata-state.js";
import type { StreamDefaults } from "./stream-config.js";

/** What startup needs to decide about the data directory. */
export interface MetadataRecoveryOptions {
  readonly dataDir: string;
  readonly defaults: StreamDefaults;
  readonly serverId: NodeId;
  /** The operator's --metadata-recovery: start from the intact prefix, move the rest aside. */
  readonly recovery: boolean;
  /** Planted bug: remove unknown stream directories instead of moving them aside. */
  readonly deleteUnknownStreamDirs: boolean;
  /** Names this startup's lost+found folder. */
  readonly wallNs: TimestampNs;
  readonly crc?: Crc32c;
  /** When false, a missing metadata log is not created (the Raft log holds the metadata). */
  readonly createMissingLog?: boolean;
}

/** The replayed metadata, with the disk work (applied before anything else) and what to log. */
export interface RecoveredMetadata {
  readonly log: MetadataLog;
  readonly metadata: MetadataState;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
}

const RECOVERY_HINT = "start once with --metadata-recovery";

/** Opens and replays the metadata log and accounts for every stream directory, or refuses to start. */
export function recoverMetadata(reader: DiskReader, options: MetadataRecoveryOptions): Result<RecoveredMetadata> {
  const metadataDir = joinPath(options.dataDir, "metadata");
  const opened = MetadataLog.open(reader, metadataDir, options.crc);
  const streamsDir = joinPath(options.dataDir, "streams");
  const dirs = reader.stat(streamsDir) === undefined ? [] : reader.list(streamsDir);
  const refusal = checkMetadataLog(opened, dirs, options.recovery);
  if (refusal !== undefined) return err("CorruptRecord", refusal);
  const lostAndFound = new LostAndFound(reader, options.dataDir, options.wallNs);
  // The metadata log is created or cut last: a crash before that leaves it as damaged as it was,
  // so the next start refuses again instead of trusting a prefix whose directories were not moved.
  const ops: DiskOp[] = [];
  const logOps = [...opened.ops];
  const events = [...opened.events];
  const complete = opened.condition.kind !== "corrupt" && !(opened.condition.kind === "missing" && dirs.length > 0);
  if (opened.condition.kind === "corrupt") {
    const kept = lostAndFound.copy("metadata/metadata.log", opened.bytes);
    ops.push(...kept.ops);
    logOps.push({ kind: "truncate", path: opened.log.path, length: opened.condition.validBytes }, { kind: "fdatasync", path: opened.log.path });
    events.push({ level: "warn", msg: "metadata recovery: keeping the intact entries before the damage of the metadata log; a copy of the whole file is kept", fields: { path: opened.log.path, entries: opened.entries.length, ...opened.condition, copy: kept.to } });
  } else if (!complete) {
    events.push({ level: "warn", msg: "metadata recovery: the metadata log is missing; starting with no streams", fields: { path: opened.log.path } });
  } else if (options.recovery) {
    events.push({ level: "warn", msg: "--metadata-recovery given but the metadata log is complete: nothing to recover (drop the flag)", fields: { path: opened.log.path } });
  }
  const { metadata, deleted } = replay(opened, options.defaults, events);
  const mismatch = checkServerId(metadata, options.serverId);
  if (mismatch !== undefined) return err("CorruptRecord", mismatch);
  const accounted = accountForStreamDirs(reader, options, metadata, complete ? deleted : new Set(), lostAndFound);
  ops.push(...accounted.ops);
  events.push(...accounted.events);
  // A fresh node keeps its metadata in the Raft log only: no empty legacy file is created.
  if (opened.condition.kind === "missing" && options.createMissingLog === false) logOps.length = 0;
  return ok({ log: opened.log, metadata, ops: [...ops, ...logOps], events });
}

/**
 * Accounts for every stream directory against the metadata: a directory of a stream whose
 * DeleteStream was applied (`deleted`) is removed; one the metadata does not know goes to
 * lost+found/, never removed (unless the planted bug says so).
 */
export function accountForStreamDirs(
  reader: DiskReader, options: MetadataRecoveryOptions, metadata: MetadataState, deleted: ReadonlySet<string>,
  lostAndFound: LostAndFound = new LostAndFound(reader, options.dataDir, options.wallNs),
): { ops: DiskOp[]; events: LogEvent[] } {
  const streamsDir = joinPath(options.dataDir, "streams");
  const dirs = reader.stat(streamsDir) === undefined ? [] : reader.list(streamsDir);
  const ops: DiskOp[] = [];
  const events: LogEvent[] = [];
  for (const name of dirs) {
    if (metadata.streams.has(name)) continue;
    const path = joinPath(streamsDir, name);
    if (deleted.has(name)) {
      // Its DeleteStream is durable; the crash came before its directory was gone.
      events.push({ level: "info", msg: "finishing the removal of a deleted stream's data (its DeleteStream is in the metadata log)", fields: { stream: name } });
      ops.push({ kind: "removeTree", path }, { kind: "syncDir", path: streamsDir });
    } else if (options.deleteUnknownStreamDirs) {
      events.push({ level: "warn", msg: "removing data of a deleted stream", fields: { stream: name } });
      ops.push({ kind: "removeTree", path }, { kind: "syncDir", path: streamsDir });
    } else {
      const moved = lostAndFound.move(joinPath("streams", name));
      events.push({ level: "warn", msg: "moved a stream directory the metadata does not account for to lost+found (nothing deleted)", fields: { stream: name, to: moved.to } });
      ops.push(...moved.ops);
    }
  }
  return { ops, events };
}

/** Why the metadata log cannot be trusted as it is, or undefined when startup may go on. */
function checkMetadataLog(opened: OpenedMetadataLog, dirs: readonly string[], recovery: boolean): string | undefined {
  if (recovery) return undefined;
  const path = opened.log.path;
  const held = `streams/ holds ${dirs.length} stream ${dirs.length === 1 ? "directory" : "directories"} (${listNames(dirs)})`;
  const moveAll = `${RECOVERY_HINT} to move them to lost+found/ and start with no streams; nothing is deleted`;
  const c = opened.condition;
  if (c.kind === "missing") {
    return dirs.length === 0 ? undefined : `${path} is missing, but ${held}: the metadata describing them is lost. Restore ${path} from a backup, or ${moveAll}`;
  }
  if (c.kind === "corrupt") {
    const n = opened.entries.length;
    return `${path} is damaged at byte ${c.validBytes} of ${c.totalBytes} (${c.problem}) and more data follows the damage, so it is not an unfinished last write; ` +
      `the ${n} ${n === 1 ? "entry" : "entries"} before it ${n === 1 ? "is" : "are"} intact. Restore ${path} from a backup, or ${RECOVERY_HINT} to keep ` +
      `those entries (a copy of the whole file goes to lost+found/) and move the stream directories they do not describe to lost+found/; nothing is deleted`;
  }
  if (opened.entries.length === 0 && dirs.length > 0) {
    return `${path} holds no metadata entries (${opened.bytes.length} bytes), but ${held}: the metadata describing them is lost. Restore ${path} from a backup, or ${moveAll}`;
  }
  return undefined;
}

/** Applies the entries in order; returns the state and the names a DeleteStream removed. */
function replay(opened: OpenedMetadataLog, defaults: StreamDefaults, events: LogEvent[]): { metadata: MetadataState; deleted: Set<string> } {
  const metadata = new MetadataState(defaults);
  const deleted = new Set<string>();
  for (const entry of opened.entries) {
    const check = metadata.check(entry.op);
    if (!check.ok) {
      events.push({ level: "warn", msg: "skipping a metadata op that no longer applies", fields: { index: entry.index, reason: check.error.message } });
      metadata.lastAppliedIndex = entry.index;
      continue;
    }
    metadata.apply(entry.op, entry.index);
    if (entry.op.op === "deleteStream") deleted.add(entry.op.name);
  }
  return { metadata, deleted };
}

/**
 * On one node every partition names this server as a replica: metadata that names only other
 * servers means the server id changed (its file was lost or damaged), and clients would be sent
 * to a leader that does not exist.
 */
function checkServerId(metadata: MetadataState, serverId: NodeId): string | undefined {
  const named = new Set<string>();
  for (const stream of metadata.streams.values()) for (const p of stream.partitions) for (const r of p.replicas) named.add(r);
  if (named.size === 0 || named.has(serverId)) return undefined;
  const ids = [...named].sort();
  return `the metadata names server ${ids.join(", ")} as the replica of every partition, but this server's id is ${serverId}. ` +
    `If the server id file "liftbridge" in the data directory was lost or replaced, restore it, or start with --server-id ${ids[0] ?? ""}`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(", ");
  return names.length > 5 ? `${shown}, ...` : shown;
}
