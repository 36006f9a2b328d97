// A synchronous harness of several Broker cores for scenario tests of the metadata cluster: each
// broker on its own SimDisk with every disk op completing at once, NATS publishes queued and
// delivered (in order) to every broker whose subscriptions match when the test pumps, time moved
// by hand. Links can be cut one way. Tests script elections, joins, forwarding and failover with it.
import { Broker, type BrokerInput } from "../../src/core/broker/broker.js";
import type { ApiRequest, ApiResponse, BrokerEffect } from "../../src/core/broker/api-types.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import { failHeldReplies } from "../../src/core/broker/failed-persist.js";
import { applyDiskOp, DiskError } from "../../src/core/disk.js";
import type { Result } from "../../src/core/errors.js";
import { DEFAULT_METADATA_RAFT, type RaftBootstrap } from "../../src/core/metadata/metadata-raft.js";
import { subjectMatches } from "../../src/core/nats/subject.js";
import type { InputTime, Send } from "../../src/core/outputs.js";
import { NodeRuntime } from "../../src/core/runtime/node-runtime.js";
import { nodeId, timeMs, timestampNs } from "../../src/core/types.js";
import { createWireCodec } from "../../src/io/broker-wire-codec.js";
import { SimDisk } from "../sim-disk.js";
import { SimRandom } from "../sim-random.js";
import { testBrokerConfig } from "./broker-harness.js";

/** One broker of the harness. */
export interface ClusterMember {
  readonly id: string;
  readonly disk: SimDisk;
  broker: Broker;
  runtime: NodeRuntime<BrokerInput, BrokerEffect>;
  readonly subs: Map<number, string>;
  readonly effects: BrokerEffect[];
  up: boolean;
}

/** Several brokers on one simulated NATS, stepped by hand. */
export class ClusterHarness {
  nowMs = 0;
  readonly members = new Map<string, ClusterMember>();
  private readonly queue: Array<{ from: string; send: Send }> = [];
  private readonly cut = new Set<string>();
  private nextRequestId = 1;

  time(): InputTime {
    return { nowMs: timeMs(this.nowMs), wallNs: timestampNs(1_700_000_000_000_000_000n + BigInt(this.nowMs) * 1_000_000n) };
  }

  /** Starts (or restarts, on its surviving disk) broker `id`. */
  start(id: string, bootstrap: RaftBootstrap, overrides: Partial<BrokerConfig> = {}): ClusterMember {
    const old = this.members.get(id);
    const disk = old?.disk ?? new SimDisk({ random: new SimRandom(id.length, `disk-${id}`), nowMs: () => this.nowMs });
    const config = testBrokerConfig({ serverId: nodeId(id), port: 9000 + this.members.size, raft: { ...DEFAULT_METADATA_RAFT, bootstrap }, ...overrides });
    const opened = Broker.open({ reader: disk, codec: createWireCodec(), random: new SimRandom(7, `broker-${id}`) }, config, this.time());
    const member: ClusterMember = { id, disk, broker: opened.broker, runtime: undefined as unknown as ClusterMember["runtime"], subs: new Map(), effects: [], up: true };
    old?.runtime.stop();
    member.runtime = new NodeRuntime(opened.broker, {
      time: () => this.time(),
      startOp: (_lane, op, done) => {
        try {
          applyDiskOp(disk, op);
        } catch (e) {
          if (!(e instanceof DiskError)) throw e;
          return done(e);
        }
        done(undefined);
      },
      read: (request, done) => done(disk.read(request.path, request.position, request.length)),
      stepped: () => undefined,
      natsSubscription: (c) => (c.kind === "natsSubscribe" ? member.subs.set(c.sid, c.subject) : member.subs.delete(c.sid)),
      send: (send) => void (member.up && this.queue.push({ from: id, send })),
      reply: (e) => void member.effects.push(e),
      failHeld: failHeldReplies,
      armDeadline: () => undefined,
    }, {});
    this.members.set(id, member);
    member.runtime.apply(opened.outputs);
    return member;
  }

  /** Power loss of broker `id`: its unsynced writes are lost and it stops until started again. */
  crash(id: string): void {
    const m = this.mustGet(id);
    m.up = false;
    m.runtime.stop();
    m.disk.crash();
  }

  /** Cuts (or heals) delivery from `from` to `to`. */
  setCut(from: string, to: string, cut: boolean): void {
    if (cut) this.cut.add(`${from}>${to}`);
    else this.cut.delete(`${from}>${to}`);
  }

  /** Delivers queued publishes (and what they cause) until none are left, at most `limit`. */
  pump(limit = 100_000): void {
    for (let n = 0; n < limit && this.queue.length > 0; n++) {
      const { from, send } = this.queue.shift() as { from: string; send: Send };
      for (const m of this.members.values()) {
        if (!m.up || this.cut.has(`${from}>${m.id}`)) continue;
        const messages = [...m.subs].filter(([, subject]) => subjectMatches(subject, send.subject)).map(([sid]) => ({ sid, subject: send.subject, reply: send.reply ?? "", data: send.data }));
        if (messages.length > 0) m.runtime.step({ kind: "natsMessages", messages, ...this.time() });
      }
    }
  }

  /** Moves time on by `ms` in steps of `stepMs`, ticking every running broker and pumping after each. */
  advance(ms: number, stepMs = 50): void {
    for (let t = 0; t < ms; t += stepMs) {
      this.nowMs += stepMs;
      for (const m of this.members.values()) if (m.up) m.runtime.step({ kind: "tick", ...this.time() });
      this.pump();
    }
  }

  /** Sends an API request to broker `id`; returns its answer once one comes within `waitMs` (undefined if none). */
  request(id: string, request: ApiRequest, waitMs = 6000): Result<ApiResponse> | undefined {
    const m = this.mustGet(id);
    const requestId = this.nextRequestId++;
    m.runtime.step({ kind: "apiRequest", requestId, request, ...this.time() });
    this.pump();
    for (let waited = 0; ; waited += 50) {
      const reply = m.effects.find((e) => e.kind === "apiResponse" && e.requestId === requestId);
      if (reply?.kind === "apiResponse") return reply.result;
      if (waited >= waitMs) return undefined;
      this.advance(50);
    }
  }

  /** The broker that is the metadata leader, if exactly one running broker is. */
  controller(): string | undefined {
    const leaders = [...this.members.values()].filter((m) => m.up && m.broker.view.raft.node.role === "leader" && !m.broker.view.raftDown);
    return leaders.length === 1 ? leaders[0]?.id : undefined;
  }

  mustGet(id: string): ClusterMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no broker ${id}`);
    return m;
  }
}
