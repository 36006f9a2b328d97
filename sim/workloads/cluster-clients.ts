// The cluster workload's clients: CreateStream, DeleteStream, PauseStream and SetStreamReadonly of a
// few stream names, sent concurrently through different brokers, and bursts of creates of one name
// through every broker at once. Every create and delete goes into a history per stream name, checked
// with the linearizability checker at the end; a pause or readonly answer is a read of the name.
import type { ApiRequest, ApiResponse } from "../../src/core/broker/api-types.js";
import type { Result } from "../../src/core/errors.js";
import { checkLinearizable, type Operation } from "../checkers/linearizability.js";
import { streamRegistryModel, type StreamRegistryInput, type StreamRegistryOutput } from "../checkers/stream-registry-model.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";

/** The stream names the clients fight over. */
export const CLUSTER_STREAMS: readonly string[] = ["alpha", "beta", "gamma", "delta"];

/** The checker's search budget per stream name: a history too tangled to decide within it is counted, not failed. */
const MAX_SEARCH_STEPS = 100_000;

/** How long a client waits for an answer before it counts the outcome unknown (past the broker's 5 s proposal timeout). */
export const CLIENT_TIMEOUT_MS = 7000;

/** Sends `request` through broker `broker` (an index); `onResult` is never called when the broker is down or crashes. */
export type ClusterApi = (broker: number, request: ApiRequest, onResult: (result: Result<ApiResponse>) => void) => void;

/** Answers that leave the outcome unknown: the op may still commit (a failed persist, a timeout, no leader). */
const UNKNOWN_ERRORS = new Set(["DiskFull", "DiskFailed", "Unavailable"]);

type StreamOp = { -readonly [K in keyof Operation<StreamRegistryInput, StreamRegistryOutput>]: Operation<StreamRegistryInput, StreamRegistryOutput>[K] };

/** The clients and their history. */
export class ClusterClients {
  private readonly history: StreamOp[] = [];
  readonly counters = { creates: 0, deletes: 0, pauses: 0, readonlys: 0, oks: 0, unknown: 0, timeouts: 0, bursts: 0, burstCreates: 0, burstWins: 0, undecided: 0 };
  /** Error codes answered that the model does not name (InvalidArgument, ...): each a failure. */
  private readonly unexpected: string[] = [];

  constructor(
    private readonly sim: Simulation,
    private readonly random: SimRandom,
    private readonly brokers: number,
    private readonly api: ClusterApi,
  ) {}

  /** Starts `clients` client loops and the bursts; they stop issuing once `stopped()` turns true. */
  start(clients: number, everyMsMax: number, stopped: () => boolean): void {
    for (let c = 0; c < clients; c++) this.loop(c, everyMsMax, stopped);
    const burstEveryMs = this.random.pick("burstEveryMs", [1000, 3000, 6000]);
    const burst = (): void => {
      this.sim.scheduleAfter(this.random.between("burstInMs", 1, burstEveryMs), "burst", () => {
        if (stopped()) return;
        this.burst();
        burst();
      });
    };
    burst();
  }

  private loop(client: number, everyMsMax: number, stopped: () => boolean): void {
    this.sim.scheduleAfter(this.random.between("clientInMs", 1, everyMsMax), `client ${client}`, () => {
      if (stopped()) return;
      this.randomOp(() => this.loop(client, everyMsMax, stopped));
    });
  }

  private randomOp(then: () => void): void {
    const name = this.random.pick("clientStream", CLUSTER_STREAMS);
    const broker = this.random.int("clientBroker", this.brokers);
    switch (this.random.int("clientOp", 6)) {
      case 0:
      case 1:
        return this.call(broker, createRequest(name, 1 + this.random.int("partitions", 2)), then);
      case 2:
      case 3:
        return this.call(broker, { kind: "deleteStream", name }, then);
      case 4:
        return this.call(broker, { kind: "pauseStream", name, partitions: [], resumeAll: false }, then);
      default:
        return this.call(broker, { kind: "setStreamReadonly", name, partitions: [], readonly: this.random.chance("readonlyOn", 1, 2) }, then);
    }
  }

  /** A create of one name through every broker at the same instant: at most one may succeed. */
  private burst(): void {
    const name = this.random.pick("burstStream", CLUSTER_STREAMS);
    this.counters.bursts++;
    for (let b = 0; b < this.brokers; b++) {
      this.counters.burstCreates++;
      this.call(b, createRequest(name, 1), () => undefined, () => this.counters.burstWins++);
    }
  }

  /** Sends one request, records it, and calls `then` once answered or timed out (exactly once). */
  call(broker: number, request: ApiRequest, then: () => void, onOk?: () => void): void {
    const op = this.record(request);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      then();
    };
    const timeout = this.sim.scheduleAfter(CLIENT_TIMEOUT_MS, "client timeout", () => {
      if (done) return;
      this.counters.timeouts++;
      this.counters.unknown++;
      finish();
    });
    this.api(broker, request, (result) => {
      if (done) return;
      this.sim.cancel(timeout);
      if (result.ok) onOk?.();
      this.answer(request, op, result);
      finish();
    });
  }

  private record(request: ApiRequest): StreamOp {
    let input: StreamRegistryInput;
    if (request.kind === "createStream") {
      this.counters.creates++;
      input = { kind: "create", name: request.name };
    } else if (request.kind === "deleteStream") {
      this.counters.deletes++;
      input = { kind: "delete", name: request.name };
    } else {
      if (request.kind === "pauseStream") this.counters.pauses++;
      else this.counters.readonlys++;
      input = { kind: "read", name: "name" in request ? request.name : "" };
    }
    const op: StreamOp = { clientId: `c${this.history.length}`, input, output: undefined, callMs: this.sim.nowMs, returnMs: undefined };
    this.history.push(op);
    return op;
  }

  /** What an answer says about the op (see UNKNOWN_ERRORS); a read (pause, readonly) learns whether the name existed. */
  private answer(request: ApiRequest, op: StreamOp, result: Result<ApiResponse>): void {
    if (!result.ok && UNKNOWN_ERRORS.has(result.error.code)) {
      this.counters.unknown++;
      return;
    }
    const read = op.input.kind === "read";
    let output: StreamRegistryOutput;
    if (result.ok) output = read ? "found" : "ok";
    else if (result.error.code === "StreamExists" && !read) output = "exists";
    else if (result.error.code === "StreamNotFound") output = "notFound";
    else {
      this.unexpected.push(`${request.kind} ${op.input.name} -> ${result.error.code} ${result.error.message} at ${this.sim.nowMs} ms`);
      return;
    }
    if (result.ok) this.counters.oks++;
    op.output = output;
    op.returnMs = this.sim.nowMs;
  }

  /** Closes the history with a read of every name as the converged brokers have it, and checks it; a failure message or undefined. */
  check(exists: (name: string) => boolean): string | undefined {
    if (this.unexpected.length > 0) return `unexpected answer: ${this.unexpected[0] as string}`;
    const atMs = this.sim.nowMs;
    for (const name of CLUSTER_STREAMS) this.history.push({ clientId: "final", input: { kind: "read", name }, output: exists(name) ? "found" : "notFound", callMs: atMs, returnMs: atMs });
    const report = checkLinearizable(streamRegistryModel, this.history, { maxSearchSteps: MAX_SEARCH_STEPS });
    this.counters.undecided = report.partitions.filter((p) => p.result === "unknown").length;
    const bad = report.partitions.find((p) => p.result === "illegal");
    return bad === undefined ? undefined : `stream metadata not linearizable (${bad.result}) for ${bad.partition}: ${bad.explanation.slice(-8).join("; ")}`;
  }
}

/** A CreateStream of `name` with `partitions` partitions and one replica. */
export function createRequest(name: string, partitions: number): ApiRequest {
  return { kind: "createStream", name, subject: `subj.${name}`, group: "", replicationFactor: 1, partitions, overrides: {} };
}
