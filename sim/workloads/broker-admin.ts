// The broker workload's administrator: creates the streams (again after every restart, since a
// create may have failed on a bad disk), and while faults last pauses partitions, sets them
// readonly and back, and deletes and recreates the scratch stream (the one with retention and
// compaction, whose offsets therefore start over). Healing makes every partition writable again.
import type { ApiRequest, ApiResponse } from "../../src/core/broker/api-types.js";
import type { Result } from "../../src/core/errors.js";
import { checkLinearizable, type Operation } from "../checkers/linearizability.js";
import { streamRegistryModel, type StreamRegistryInput, type StreamRegistryOutput } from "../checkers/stream-registry-model.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";
import type { ApiCaller } from "./broker-clients.js";

/** The stream that is deleted and recreated and has retention and compaction. */
export const SCRATCH = "scratch";

const STREAMS: readonly { readonly name: string; readonly partitions: number }[] = [
  { name: "orders", partitions: 2 },
  { name: "events", partitions: 1 },
  { name: SCRATCH, partitions: 1 },
];

/** Answers an admin request may legitimately get on a faulty disk or a racing op. */
// Unavailable: the metadata Raft had no leader in time, replaced the proposal's entry, or is being
// rebuilt after a failed persist; each means the op did not apply (a definite failure).
const EXPECTED_ERRORS = new Set(["StreamNotFound", "StreamExists", "PartitionNotFound", "DiskFailed", "DiskFull", "Unavailable"]);

/** Issues the workload's admin operations. */
export class BrokerAdmin {
  private scratchWanted = true;
  private readonly scratchCreate: ApiRequest;
  readonly counters = { pauses: 0, readonlys: 0, deletes: 0, creates: 0, adminErrors: 0 };
  /**
   * Streams never deleted whose CreateStream was answered (OK, or StreamExists after a retry): they
   * must exist after every restart. The scratch stream is left out, its deletes race its creates.
   */
  readonly answeredCreates = new Set<string>();
  /** Every CreateStream and DeleteStream with its answer (none: unknown), for the linearizability check. */
  private readonly history: StreamOp[] = [];

  constructor(
    private readonly sim: Simulation,
    private readonly swarm: SimRandom,
    private readonly api: ApiCaller,
    private readonly fail: (message: string) => void,
    private readonly onScratchDeleted: () => void,
    /** Compact the scratch stream: undefined draws it (half the seeds). */
    compaction: boolean | undefined,
  ) {
    this.scratchCreate = {
      kind: "createStream", name: SCRATCH, subject: SCRATCH, group: "", replicationFactor: 1, partitions: 1,
      overrides: {
        retentionMaxMessages: swarm.pick("scratchRetentionMaxMessages", [0, 5, 50]),
        retentionMaxAgeMs: swarm.pick("scratchRetentionMaxAgeMs", [50, 1000, 3_600_000]),
        compactEnabled: compaction ?? swarm.chance("scratchCompact", 1, 2),
        segmentMaxBytes: 512,
      },
    };
  }

  /** Starts the random admin operations; they stop once `healed()` turns true. */
  start(healed: () => boolean): void {
    const everyMsMax = this.swarm.pick("adminEveryMsMax", [50, 200, 1000]);
    const next = (): void => {
      this.sim.scheduleAfter(this.swarm.between("adminInMs", 1, everyMsMax), "admin", () => {
        if (healed()) return;
        this.randomOp();
        next();
      });
    };
    next();
  }

  /**
   * After every (re)start: the streams that should exist and whose create was not yet answered are
   * created (an answered one must have survived: asking again would hide its loss).
   */
  onRestart(): void {
    if (!this.answeredCreates.has("orders")) this.call({ kind: "createStream", name: "orders", subject: "orders", group: "", replicationFactor: 1, partitions: 2, overrides: {} });
    if (!this.answeredCreates.has("events")) this.call({ kind: "createStream", name: "events", subject: "events.*", group: "g", replicationFactor: 1, partitions: 1, overrides: {} });
    if (this.scratchWanted) this.call(this.scratchCreate);
  }

  /** Faults healed: the scratch stream exists again and nothing stays readonly. */
  heal(): void {
    this.scratchWanted = true;
    this.call(this.scratchCreate);
    for (const s of STREAMS) this.call({ kind: "setStreamReadonly", name: s.name, partitions: [], readonly: false });
  }

  private randomOp(): void {
    const s = this.swarm.pick("adminStream", STREAMS);
    const partitions = this.swarm.chance("adminAllPartitions", 1, 2) ? [] : [this.swarm.int("adminPartition", s.partitions)];
    switch (this.swarm.int("adminOp", 4)) {
      case 0:
        this.counters.pauses++;
        return this.call({ kind: "pauseStream", name: s.name, partitions, resumeAll: this.swarm.chance("resumeAll", 1, 2) });
      case 1:
        this.counters.readonlys++;
        return this.call({ kind: "setStreamReadonly", name: s.name, partitions, readonly: this.swarm.chance("readonlyOn", 1, 2) });
      case 2:
        if (!this.scratchWanted) return;
        this.counters.deletes++;
        this.scratchWanted = false;
        this.onScratchDeleted();
        return this.call({ kind: "deleteStream", name: SCRATCH });
      default:
        if (this.scratchWanted) return;
        this.counters.creates++;
        this.scratchWanted = true;
        return this.call(this.scratchCreate);
    }
  }

  /**
   * Adds a read of every stream name as the recovered broker has it, then checks the creates and
   * deletes of the run (unanswered ones: unknown outcome) against the stream-name model.
   */
  checkLinearizable(exists: (name: string) => boolean): string | undefined {
    const atMs = this.sim.nowMs;
    for (const s of STREAMS) this.history.push({ clientId: "final", input: { kind: "read", name: s.name }, output: exists(s.name) ? "found" : "notFound", callMs: atMs, returnMs: atMs });
    const report = checkLinearizable(streamRegistryModel, this.history);
    const bad = report.partitions.find((p) => p.result !== "ok");
    return bad === undefined ? undefined : `stream metadata not linearizable (${bad.result}) for ${bad.partition}: ${bad.explanation.join("; ")}`;
  }

  private call(request: ApiRequest): void {
    const op = this.record(request);
    this.api(request, (result: Result<ApiResponse>) => {
      if (op !== undefined) answer(op, result, this.sim.nowMs);
      const created = result.ok || result.error.code === "StreamExists";
      if (request.kind === "createStream" && request.name !== SCRATCH && created) this.answeredCreates.add(request.name);
      if (result.ok) return;
      this.counters.adminErrors++;
      if (!EXPECTED_ERRORS.has(result.error.code)) this.fail(`${request.kind} ${"name" in request ? request.name : ""} failed: ${result.error.code} ${result.error.message}`);
    });
  }

  private record(request: ApiRequest): StreamOp | undefined {
    if (request.kind !== "createStream" && request.kind !== "deleteStream") return undefined;
    const op: StreamOp = { clientId: `admin-${this.history.length}`, input: { kind: request.kind === "createStream" ? "create" : "delete", name: request.name }, output: undefined, callMs: this.sim.nowMs, returnMs: undefined };
    this.history.push(op);
    return op;
  }
}

type StreamOp = { -readonly [K in keyof Operation<StreamRegistryInput, StreamRegistryOutput>]: Operation<StreamRegistryInput, StreamRegistryOutput>[K] };

/**
 * Records what the answer says about the op's effect. A failed persist (DiskFull, DiskFailed) is
 * no answer: its entry may still commit later (failPendingAnswers), so the outcome stays unknown.
 */
function answer(op: StreamOp, result: Result<ApiResponse>, atMs: number): void {
  if (!result.ok && (result.error.code === "DiskFull" || result.error.code === "DiskFailed")) return;
  op.returnMs = atMs;
  if (result.ok) op.output = "ok";
  else if (result.error.code === "StreamExists") op.output = "exists";
  else if (result.error.code === "StreamNotFound") op.output = "notFound";
  else op.output = "rejected";
}
