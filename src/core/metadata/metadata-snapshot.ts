// A snapshot of the metadata state machine: what Raft stores and installs on a lagging broker in
// place of the entries it compacts away. Versioned JSON (metadata is small; the op log is JSON
// too); restoring validates every field, since a snapshot may arrive from a peer: bad bytes give a
// typed error, never an assertion. Effective stream settings are not stored: they are resolved
// from each stream's overrides against the restoring broker's defaults, as replaying the ops does.
import { err, ok, type Result } from "../errors.js";
import { epoch, nodeId, timestampNs } from "../types.js";
import { MetadataState, partitionSubject, type EventTimestamps, type PartitionMeta, type StreamMeta } from "./metadata-state.js";
import { resolveStreamSettings, type StreamDefaults, type StreamOverrides } from "./stream-config.js";

/** The snapshot format's version; a newer one is refused by name. */
export const METADATA_SNAPSHOT_VERSION = 1;

/** Encodes the whole state as of its last applied index. */
export function snapshotMetadata(state: MetadataState): Uint8Array {
  const streams = [...state.streams.values()].map((s) => ({
    name: s.name, subject: s.subject, group: s.group, replicationFactor: s.replicationFactor, overrides: s.overrides,
    creationTimestampNs: s.creationTimestampNs.toString(),
    partitions: s.partitions.map((p) => ({
      replicas: p.replicas, leader: p.leader, isr: p.isr, leaderEpoch: p.leaderEpoch, epoch: p.epoch, paused: p.paused,
      resumeAll: p.resumeAll, readonly: p.readonly, pauseTimestamps: stamps(p.pauseTimestamps), readonlyTimestamps: stamps(p.readonlyTimestamps),
    })),
  }));
  return new TextEncoder().encode(JSON.stringify({ version: METADATA_SNAPSHOT_VERSION, lastAppliedIndex: state.lastAppliedIndex, streams }));
}

/** Decodes a snapshot into a fresh state, or says what is wrong with it. */
export function restoreMetadata(bytes: Uint8Array, defaults: StreamDefaults): Result<MetadataState> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return err("InvalidArgument", "metadata snapshot is not UTF-8 JSON");
  }
  try {
    return ok(build(new Reader(value, "snapshot"), defaults));
  } catch (e) {
    if (e instanceof SnapshotError) return err("InvalidArgument", `metadata snapshot: ${e.message}`);
    throw e;
  }
}

function build(root: Reader, defaults: StreamDefaults): MetadataState {
  const version = root.field("version").int(1);
  if (version !== METADATA_SNAPSHOT_VERSION) throw new SnapshotError(`version ${version} is not supported (this broker reads ${METADATA_SNAPSHOT_VERSION})`);
  const state = new MetadataState(defaults);
  state.lastAppliedIndex = root.field("lastAppliedIndex").int(0);
  for (const s of root.field("streams").array()) {
    const name = s.field("name").string();
    if (state.streams.has(name)) throw new SnapshotError(`stream ${name} appears twice`);
    const subject = s.field("subject").string();
    const overrides = streamOverrides(s.field("overrides"), defaults);
    const partitions = s.field("partitions").array().map((p, id) => partition(p, id, name, partitionSubject(subject, id)));
    const stream: StreamMeta = {
      name, subject, group: s.field("group").string(true), replicationFactor: s.field("replicationFactor").int(-1), overrides,
      settings: resolveStreamSettings(defaults, overrides), creationTimestampNs: timestampNs(s.field("creationTimestampNs").bigint()), partitions,
    };
    state.streams.set(name, stream);
  }
  return state;
}

function partition(p: Reader, id: number, stream: string, subject: string): PartitionMeta {
  const replicas = p.field("replicas").array().map((r) => nodeId(r.string()));
  if (replicas.length === 0) throw new SnapshotError(`${p.path}.replicas is empty`);
  return {
    stream, id, subject, replicas,
    leader: nodeId(p.field("leader").string()), isr: p.field("isr").array().map((r) => nodeId(r.string())),
    leaderEpoch: epoch(p.field("leaderEpoch").int(0)), epoch: p.field("epoch").int(0), paused: p.field("paused").boolean(),
    resumeAll: p.field("resumeAll").boolean(), readonly: p.field("readonly").boolean(),
    pauseTimestamps: timestamps(p.field("pauseTimestamps")), readonlyTimestamps: timestamps(p.field("readonlyTimestamps")),
  };
}

/** Only keys the broker knows, each of its default's type: a snapshot cannot smuggle in settings. */
function streamOverrides(o: Reader, defaults: StreamDefaults): StreamOverrides {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o.object())) {
    if (!Object.hasOwn(defaults, key)) throw new SnapshotError(`${o.path}.${key} is not a stream setting`);
    const expected = typeof defaults[key as keyof StreamDefaults];
    if (typeof value !== expected || (expected === "number" && !Number.isSafeInteger(value))) throw new SnapshotError(`${o.path}.${key} must be a ${expected}`);
    out[key] = value;
  }
  return out;
}

function stamps(t: EventTimestamps): { firstNs: string; latestNs: string } {
  return { firstNs: t.firstNs.toString(), latestNs: t.latestNs.toString() };
}

function timestamps(t: Reader): EventTimestamps {
  return { firstNs: timestampNs(t.field("firstNs").bigint()), latestNs: timestampNs(t.field("latestNs").bigint()) };
}

/** A field of the snapshot that is not what it must be. */
class SnapshotError extends Error {}

/** A typed view of one JSON value that knows its path, for errors that say where. */
class Reader {
  constructor(
    private readonly value: unknown,
    readonly path: string,
  ) {}

  field(name: string): Reader {
    return new Reader(this.object()[name], `${this.path}.${name}`);
  }

  object(): Record<string, unknown> {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) throw new SnapshotError(`${this.path} must be an object`);
    return this.value as Record<string, unknown>;
  }

  array(): Reader[] {
    if (!Array.isArray(this.value)) throw new SnapshotError(`${this.path} must be an array`);
    return this.value.map((v, i) => new Reader(v, `${this.path}[${i}]`));
  }

  string(allowEmpty = false): string {
    if (typeof this.value !== "string" || (!allowEmpty && this.value.length === 0)) throw new SnapshotError(`${this.path} must be a ${allowEmpty ? "" : "non-empty "}string`);
    return this.value;
  }

  boolean(): boolean {
    if (typeof this.value !== "boolean") throw new SnapshotError(`${this.path} must be true or false`);
    return this.value;
  }

  int(min: number): number {
    if (typeof this.value !== "number" || !Number.isSafeInteger(this.value) || this.value < min) throw new SnapshotError(`${this.path} must be an integer >= ${min}`);
    return this.value;
  }

  bigint(): bigint {
    const INT64_MAX = 9223372036854775807n;
    if (typeof this.value !== "string" || !/^(0|[1-9][0-9]{0,18})$/.test(this.value) || BigInt(this.value) > INT64_MAX) {
      throw new SnapshotError(`${this.path} must be a decimal int64 timestamp`);
    }
    return BigInt(this.value);
  }
}
