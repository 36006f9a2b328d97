// Black box, real process: damaged or missing metadata after clean and unclean stops: the single-node
// version's metadata/metadata.log (a directory of that version, migrated into the Raft log at its
// first start), this version's Raft log (raft/), the server id file `liftbridge`, unknown stream
// directories. In every case the broker either refuses to start with one stderr line naming the
// damaged file (and changes nothing), or it starts and every acked message of every stream it
// accounts for reads back byte for byte; no file of the data directory is ever deleted (moved to
// lost+found/ counts as kept). The planted bug deleteUnknownStreamDirs must fail the same check.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBrokerProcess } from "../../jepsen-like/broker-process.js";
import { createApiClient } from "../../jepsen-like/grpc-test-client.js";
import { createStreamForNats, natsModes, startEnv, subscribeRead, syncBrokerNats } from "../../jepsen-like/integration-fixture.js";
import { encodeRecord } from "../../src/core/metadata/metadata-log.js";
import { MIGRATED_SUFFIX } from "../../src/core/metadata/metadata-raft.js";
import { nodeId } from "../../src/core/types.js";
import { PLANTED_BUGS_ENV } from "../../src/io/planted-bugs-from-env.js";
import { legacyCreateStream } from "../../sim/testing/legacy-metadata.js";

const T = { timeout: 120_000 };
const LOG = join("metadata", "metadata.log");
const STREAMS = [{ name: "md-a", partitions: 2 }, { name: "md-b", partitions: 1 }, { name: "md-c", partitions: 1 }];
const PER_PARTITION = 8;
/** The id of the server that wrote the single-node (legacy) bases. */
const LEGACY_ID = "md-legacy-1";

interface Acked { readonly stream: string; readonly partition: number; readonly offset: string; readonly value: Buffer }
interface Base { readonly dir: string; readonly acked: readonly Acked[]; readonly serverId: string }
type Listing = Map<string, Buffer>;

/**
 * Creates the streams, publishes binary values with LEADER acks, then stops (SIGTERM, or SIGKILL).
 * "legacy": the streams are in a metadata/metadata.log written before the first start (as the
 * single-node version left it), and raft/ is removed after the stop; "raft": created through the API.
 */
async function makeBase(root: string, stop: "clean" | "killed", kind: "legacy" | "raft"): Promise<Base> {
  const dir = join(root, `base-${kind}-${stop}`);
  if (kind === "legacy") {
    mkdirSync(join(dir, "metadata"), { recursive: true });
    const ops = STREAMS.map((s) => legacyCreateStream(s.name, { subject: s.name.replace("-", "."), partitions: s.partitions }, nodeId(LEGACY_ID)));
    writeFileSync(join(dir, LOG), Buffer.concat(ops.map((op) => encodeRecord(op))));
  }
  const env = await startEnv(natsModes()[0]!, { dataDir: dir, ...(kind === "legacy" ? { extraArgs: ["--server-id", LEGACY_ID] } : {}) });
  const acked: Acked[] = [];
  try {
    if (kind === "raft") for (const s of STREAMS) await createStreamForNats(env, { name: s.name, subject: s.name.replace("-", "."), partitions: s.partitions });
    else await syncBrokerNats(env);
    for (const s of STREAMS) {
      for (let partition = 0; partition < s.partitions; partition++) {
        for (let i = 0; i < PER_PARTITION; i++) {
          const value = Buffer.from([i, 0, 0xff, partition, ...Buffer.from(`${s.name}/${partition}/${i}`)]);
          const r = await env.client.publish({ stream: s.name, partition, value, ackPolicy: "LEADER" }, { timeoutMs: 5000 });
          assert.ok(r.ack !== null && r.ack.ackError === "OK", JSON.stringify(r));
          acked.push({ stream: s.name, partition, offset: r.ack.offset, value });
        }
      }
    }
  } finally {
    env.client.close();
    await env.nc.close();
    if (stop === "killed") await env.broker.kill();
    else assert.equal(await env.broker.stop("SIGTERM", 10_000), 0);
  }
  const started = env.broker.output().split("\n").find((l) => l.includes("Liftbridge-TS started")) ?? "{}";
  const serverId = (JSON.parse(started) as { serverId?: string }).serverId ?? "";
  assert.ok(serverId.length > 0);
  if (kind === "legacy") {
    assert.equal(serverId, LEGACY_ID);
    rmSync(join(dir, "raft"), { recursive: true });
    // The migration renamed the old log once raft/ was durable: put it back as the old version left it.
    renameSync(join(dir, `${LOG}${MIGRATED_SUFFIX}`), join(dir, LOG));
  } else {
    assert.equal(readdirSync(dir).includes("metadata"), false, "this version writes no metadata/metadata.log");
  }
  return { dir, acked, serverId };
}

function listing(dir: string, rel = ""): Listing {
  const out: Listing = new Map();
  for (const name of readdirSync(join(dir, rel))) {
    const path = join(rel, name);
    if (statSync(join(dir, path)).isDirectory()) for (const [p, b] of listing(dir, path)) out.set(p, b);
    else out.set(path, readFileSync(join(dir, path)));
  }
  return out;
}

/** Byte positions where each metadata.log record starts, and the end. */
function recordStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let pos = 0; pos + 8 <= bytes.length;) starts.push((pos += 8 + bytes.readUInt32BE(pos)));
  return starts;
}

interface Outcome {
  readonly kind: "refused" | "started";
  readonly output: string;
  /** Streams the restarted broker reports (empty when refused). */
  readonly streams: readonly string[];
}

/** Copies `base`, damages the copy, starts the broker on it and checks the invariant; returns what happened. */
async function runCase(root: string, base: Base, name: string, damage: (dir: string) => void, options: { args?: string[]; env?: Record<string, string> } = {}): Promise<Outcome> {
  const dir = join(root, name);
  cpSync(base.dir, dir, { recursive: true });
  damage(dir);
  const pre = listing(dir);
  let outcome: Outcome;
  try {
    const broker = await startBrokerProcess({ dataDir: dir, extraArgs: options.args ?? [], env: options.env ?? {}, startTimeoutMs: 20_000 });
    const client = createApiClient(broker.grpcAddress);
    try {
      const md = await client.fetchMetadata({}, { timeoutMs: 5000 });
      const streams = (md["streamMetadata"] as { name: string }[]).map((s) => s.name).sort();
      await assertAckedReadBack(client, base, streams);
      outcome = { kind: "started", output: broker.output(), streams };
    } finally {
      client.close();
      await broker.stop("SIGTERM", 10_000);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const exited = /broker exited \(code (\d+|null), signal (\w+)\) during start-up:\n([\s\S]*)$/.exec(message);
    if (exited === null) throw e;
    assert.notEqual(exited[1], "0", `${name}: a refusal exits non-zero`);
    outcome = { kind: "refused", output: exited[3] ?? "", streams: [] };
    assert.deepEqual([...listing(dir).keys()].sort(), [...pre.keys()].sort(), `${name}: a refusal changes no file`);
  }
  assertNothingDeleted(name, pre, listing(dir), outcome);
  return outcome;
}

async function assertAckedReadBack(client: ReturnType<typeof createApiClient>, base: Base, streams: readonly string[]): Promise<void> {
  for (const s of STREAMS.filter((x) => streams.includes(x.name))) {
    for (let partition = 0; partition < s.partitions; partition++) {
      const read = await subscribeRead(client, { stream: s.name, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST" }, Infinity, 10_000);
      const got = new Map(read.messages.map((m) => [m.offset, m.value]));
      for (const a of base.acked.filter((x) => x.stream === s.name && x.partition === partition)) {
        assert.deepEqual(got.get(a.offset), a.value, `acked ${a.stream}/${a.partition}@${a.offset} reads back byte for byte`);
      }
    }
  }
}

/**
 * Every file present before the start is still there, at its path or moved under lost+found/<x>/;
 * a .log file keeps its bytes (the metadata log may lose only a torn tail the broker reported).
 */
function assertNothingDeleted(name: string, pre: Listing, post: Listing, outcome: Outcome): void {
  for (const [path, bytes] of pre) {
    // The old metadata log is renamed once migrated into raft/ (kept, never deleted).
    const candidates = [...post].filter(([p]) => p === path || p === `${path}${MIGRATED_SUFFIX}` || p.replace(/^lost\+found\/[^/]+\//, "") === path);
    assert.ok(candidates.length > 0, `${name}: ${path} was deleted (not kept, not moved aside)`);
    if (!path.endsWith(".log")) continue;
    const intact = candidates.some(([, b]) => b.equals(bytes));
    const tornCut = path === LOG && outcome.output.includes("torn tail") && candidates.some(([, b]) => bytes.subarray(0, b.length).equals(b));
    assert.ok(intact || tornCut, `${name}: ${path} lost bytes`);
  }
}

function assertRefusedNaming(outcome: Outcome, file: RegExp): void {
  assert.equal(outcome.kind, "refused", outcome.output);
  const line = outcome.output.split("\n").find((l) => l.startsWith("liftbridge: "));
  assert.ok(line !== undefined && file.test(line), `one stderr line naming the file:\n${outcome.output}`);
}

const ALL = STREAMS.map((s) => s.name);
const RECOVER = { args: ["--metadata-recovery"] };

function flipMiddle(dir: string): void {
  const path = join(dir, LOG);
  const bytes = readFileSync(path);
  const second = recordStarts(bytes)[1]!;
  for (const i of [second + 20, second + 21, second + 40]) bytes[i] = bytes[i]! ^ 0x5a;
  writeFileSync(path, bytes);
}

function plantUnknownStream(dir: string): void {
  cpSync(join(dir, "streams", "md-b"), join(dir, "streams", "md-stray"), { recursive: true });
}

describe("metadata damage on the real process", () => {
  let root: string;
  let clean: Base;
  let killed: Base;
  let raft: Base;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "liftbridge-md-"));
    clean = await makeBase(root, "clean", "legacy");
    killed = await makeBase(root, "killed", "legacy");
    raft = await makeBase(root, "killed", "raft");
  }, T);
  after(() => { if (root !== undefined) rmSync(root, { recursive: true, force: true }); });

  test("intact data dir after SIGTERM and after SIGKILL: starts, every acked message reads back", T, async () => {
    for (const base of [clean, killed]) {
      const o = await runCase(root, base, `intact-${base === clean ? "clean" : "killed"}`, () => {});
      assert.deepEqual(o.streams, ALL);
    }
  });

  test("metadata.log missing: refused naming it; --metadata-recovery starts empty with every stream moved aside", T, async () => {
    assertRefusedNaming(await runCase(root, clean, "missing", (d) => unlinkSync(join(d, LOG))), /metadata\/metadata\.log is missing/);
    const o = await runCase(root, clean, "missing-recover", (d) => unlinkSync(join(d, LOG)), RECOVER);
    assert.deepEqual(o.streams, []);
    assert.match(o.output, /"stream":"md-a","to":"lost\+found\/\d{8}T\d{6}Z\/streams\/md-a"[^\n]*moved a stream directory/);
  });

  test("metadata.log empty or all garbage: refused naming it", T, async () => {
    assertRefusedNaming(await runCase(root, clean, "empty", (d) => truncateSync(join(d, LOG), 0)), /metadata\/metadata\.log/);
    const garbage = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 151 + 89) & 0xff));
    assertRefusedNaming(await runCase(root, killed, "garbage", (d) => writeFileSync(join(d, LOG), garbage)), /metadata\/metadata\.log/);
  });

  test("bad bytes in the middle (after SIGTERM and SIGKILL): refused; --metadata-recovery keeps the prefix and moves the rest aside", T, async () => {
    assertRefusedNaming(await runCase(root, clean, "flipped", flipMiddle), /metadata\/metadata\.log is damaged at byte \d+/);
    assertRefusedNaming(await runCase(root, killed, "flipped-killed", flipMiddle), /metadata\/metadata\.log is damaged/);
    const o = await runCase(root, clean, "flipped-recover", flipMiddle, RECOVER);
    assert.deepEqual(o.streams, ["md-a"]);
    assert.match(o.output, /keeping the intact entries before the damage/);
  });

  test("a chunk cut out of the middle: refused naming metadata.log", T, async () => {
    const cut = (d: string): void => {
      const bytes = readFileSync(join(d, LOG));
      const second = recordStarts(bytes)[1]!;
      writeFileSync(join(d, LOG), Buffer.concat([bytes.subarray(0, second + 10), bytes.subarray(second + 30)]));
    };
    assertRefusedNaming(await runCase(root, clean, "cut-middle", cut), /metadata\/metadata\.log is damaged/);
  });

  test("a torn last append after SIGKILL is cut: starts with every stream", T, async () => {
    // An unsynced CreateStream: its header and a few payload bytes landed, the rest did not.
    const torn = Buffer.from([0, 0, 0, 200, 1, 2, 3, 4, 0x7b, 0x22, 0x6f, 0x70]);
    const o = await runCase(root, killed, "torn-tail", (d) => appendFileSync(join(d, LOG), torn));
    assert.equal(o.kind, "started", o.output);
    assert.deepEqual(o.streams, ALL);
    assert.match(o.output, /torn tail/);
  });

  test("garbage appended to metadata.log: refused, or starts with every stream", T, async () => {
    const o = await runCase(root, clean, "garbage-appended", (d) => appendFileSync(join(d, LOG), Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 5) & 0xff))));
    if (o.kind === "refused") assertRefusedNaming(o, /metadata\/metadata\.log/);
    else assert.deepEqual(o.streams, ALL);
  });

  test("an unknown stream directory: starts, warns naming it, moves it to lost+found", T, async () => {
    const o = await runCase(root, clean, "unknown-dir", plantUnknownStream);
    assert.deepEqual(o.streams, ALL);
    assert.match(o.output, /"level":"warn"[^\n]*"stream":"md-stray"[^\n]*moved a stream directory the metadata does not account for/);
  });

  test("server id file `liftbridge` missing: refused naming it and the old id; --server-id <old id> starts", T, async () => {
    const remove = (d: string): void => unlinkSync(join(d, "liftbridge"));
    const o = await runCase(root, clean, "id-missing", remove);
    assertRefusedNaming(o, /"liftbridge"/);
    assert.ok(o.output.includes(`--server-id ${clean.serverId}`), o.output);
    const again = await runCase(root, clean, "id-missing-flag", remove, { args: ["--server-id", clean.serverId] });
    assert.deepEqual(again.streams, ALL);
  });

  test("server id file `liftbridge` damaged: refused naming it, never replaced", T, async () => {
    assertRefusedNaming(await runCase(root, clean, "id-garbage", (d) => writeFileSync(join(d, "liftbridge"), Buffer.from([0xff, 0xff, 0xff, 0x07]))), /"liftbridge".*damaged/);
  });

  test("this version's Raft log intact after SIGKILL: starts, every acked message reads back", T, async () => {
    const o = await runCase(root, raft, "raft-intact", () => {});
    assert.deepEqual(o.streams, ALL);
  });

  test("a Raft log entry damaged in the middle: refused naming the segment file; nothing changed", T, async () => {
    const flip = (d: string): void => {
      const segment = join(d, "raft", readdirSync(join(d, "raft")).filter((n) => n.endsWith(".raft")).sort()[0]!);
      const bytes = readFileSync(segment);
      const starts = recordStarts(bytes);
      assert.ok(starts.length > 4, "several entries");
      bytes[starts[2]! + 10] = bytes[starts[2]! + 10]! ^ 0x5a;
      writeFileSync(segment, bytes);
    };
    assertRefusedNaming(await runCase(root, raft, "raft-flipped", flip), /raft\/\d{20}\.raft at byte \d+: bad CRC, and it is not an unfinished last write/);
    assertRefusedNaming(await runCase(root, raft, "raft-flipped-recover", flip, RECOVER), /raft\/\d{20}\.raft at byte \d+/);
  });

  test("the Raft hard state missing: refused naming it", T, async () => {
    assertRefusedNaming(await runCase(root, raft, "raft-no-hardstate", (d) => unlinkSync(join(d, "raft", "hardstate"))), /raft\/hardstate at byte 0: the hard state file .* is missing/);
  });

  test("raft/ lost: refused naming it; --metadata-recovery starts empty with every stream moved aside", T, async () => {
    const lose = (d: string): void => rmSync(join(d, "raft"), { recursive: true });
    assertRefusedNaming(await runCase(root, raft, "raft-lost", lose), /no Raft log in .*raft and .*metadata\.log is missing/);
    const o = await runCase(root, raft, "raft-lost-recover", lose, RECOVER);
    assert.deepEqual(o.streams, []);
  });

  test("server id file `liftbridge` missing on a Raft log: refused naming it and the old id", T, async () => {
    const o = await runCase(root, raft, "raft-id-missing", (d) => unlinkSync(join(d, "liftbridge")));
    assertRefusedNaming(o, /"liftbridge"/);
    assert.ok(o.output.includes(`--server-id ${raft.serverId}`), o.output);
  });

  test(`planted bug deleteUnknownStreamDirs (${PLANTED_BUGS_ENV}) fails the same check`, T, async () => {
    await assert.rejects(
      runCase(root, clean, "unknown-dir-planted", plantUnknownStream, { env: { [PLANTED_BUGS_ENV]: "deleteUnknownStreamDirs" } }),
      /md-stray.* was deleted \(not kept, not moved aside\)/,
    );
  });
});
