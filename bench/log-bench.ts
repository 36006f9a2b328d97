// Commit log benchmark: appends N records of 1 KiB in batches of 64 through CommitLog on NodeDisk
// (sync policies `always` and `never`) and compares with plain writev (+ fdatasync) loops writing
// the same pre-encoded record bytes, in the same run, on the same temp file system.
//   npm run bench:log -- [--records N] [--batch B] [--value-bytes V] [--json]
import { bestCrc32c } from "../src/io/native-crc32c.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { applyDiskOp } from "../src/core/disk.js";
import { CommitLog } from "../src/core/log/commit-log.js";
import type { SyncPolicy } from "../src/core/log/log-config.js";
import { DEFAULT_LOG_CONFIG } from "../src/core/log/log-config.js";
import type { AppendMessage } from "../src/core/log/record-codec.js";
import type { Epoch, TimeMs, TimestampNs } from "../src/core/types.js";
import { NodeDisk } from "../src/io/node-disk.js";

// The CRC production uses: native when it agrees with the pure-JS reference (reported in the output).
const CRC = bestCrc32c();

interface Options {
  records: number;
  batch: number;
  valueBytes: number;
  json: boolean;
}

function parseOptions(): Options {
  const program = new Command()
    .option("--records <n>", "records to append per run", "1000000")
    .option("--batch <n>", "records per append (group commit)", "64")
    .option("--value-bytes <n>", "value size of each record", "1024")
    .option("--json", "print one JSON object", false)
    .parse(process.argv);
  const o = program.opts<{ records: string; batch: string; valueBytes: string; json: boolean }>();
  return { records: Number(o.records), batch: Number(o.batch), valueBytes: Number(o.valueBytes), json: o.json };
}

function makeBatch(opts: Options): AppendMessage[] {
  const value = new Uint8Array(opts.valueBytes);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
  return Array.from({ length: opts.batch }, () => ({ key: null, value, headers: [] }));
}

/** Appends through the CommitLog; returns messages per second. */
function runLog(dir: string, policy: SyncPolicy, batch: readonly AppendMessage[], opts: Options): number {
  const disk = new NodeDisk(dir);
  const config = { ...DEFAULT_LOG_CONFIG, syncPolicy: policy, retentionMaxAgeMs: 0, segmentMaxAgeMs: 0, crc32c: CRC.crc32c };
  const opened = CommitLog.open(disk, "log", config, 0 as TimeMs);
  for (const op of opened.ops) applyDiskOp(disk, op);
  const log = opened.log;
  const batches = Math.ceil(opts.records / opts.batch);
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    const r = log.appendAsLeader(batch, (BigInt(b) + 1_700_000_000_000_000_000n) as TimestampNs, 1 as Epoch, 0 as TimeMs);
    if (!r.ok) throw new Error(r.error.message);
    for (const op of r.value.ops) applyDiskOp(disk, op);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const op of log.close()) applyDiskOp(disk, op);
  return (batches * opts.batch) / seconds;
}

/** The same record bytes, encoded once by the log itself, written by a plain writev loop. */
function encodedBatch(dir: string, batch: readonly AppendMessage[]): Uint8Array[] {
  const disk = new NodeDisk(dir);
  const opened = CommitLog.open(disk, "encode", { ...DEFAULT_LOG_CONFIG, syncPolicy: "never" }, 0 as TimeMs);
  for (const op of opened.ops) applyDiskOp(disk, op);
  const r = opened.log.appendAsLeader(batch, 1_700_000_000_000_000_000n as TimestampNs, 1 as Epoch, 0 as TimeMs);
  if (!r.ok) throw new Error(r.error.message);
  const write = r.value.ops.find((op) => op.kind === "write" && op.path.endsWith(".log"));
  if (write?.kind !== "write") throw new Error("no log write");
  const bytes = write.chunks[0] as Uint8Array;
  const recordBytes = bytes.length / batch.length;
  return batch.map((_, i) => bytes.subarray(i * recordBytes, (i + 1) * recordBytes));
}

function runRaw(file: string, chunks: Uint8Array[], opts: Options, sync: boolean): number {
  const fd = fs.openSync(file, "w+");
  const batchBytes = chunks.reduce((n, c) => n + c.length, 0);
  const batches = Math.ceil(opts.records / opts.batch);
  let position = 0;
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    let done = fs.writevSync(fd, chunks, position);
    while (done < batchBytes) done += fs.writeSync(fd, Buffer.concat(chunks).subarray(done), 0, batchBytes - done, position + done);
    if (sync) fs.fdatasyncSync(fd);
    position += batchBytes;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.closeSync(fd);
  return (batches * opts.batch) / seconds;
}

function main(): void {
  const opts = parseOptions();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "log-bench-"));
  try {
    const batch = makeBatch(opts);
    const chunks = encodedBatch(root, batch);
    const fresh = (name: string): string => {
      fs.rmSync(path.join(root, name), { recursive: true, force: true });
      fs.mkdirSync(path.join(root, name));
      return path.join(root, name);
    };
    const rawGroupCommitMsgsPerSec = runRaw(path.join(fresh("raw-sync"), "raw.log"), chunks, opts, true);
    fs.rmSync(path.join(root, "raw-sync"), { recursive: true });
    const alwaysMsgsPerSec = runLog(fresh("always"), "always", batch, opts);
    fs.rmSync(path.join(root, "always"), { recursive: true });
    const rawPageCacheMsgsPerSec = runRaw(path.join(fresh("raw-nosync"), "raw.log"), chunks, opts, false);
    fs.rmSync(path.join(root, "raw-nosync"), { recursive: true });
    const neverMsgsPerSec = runLog(fresh("never"), "never", batch, opts);
    const result = {
      records: opts.records,
      batch: opts.batch,
      recordBytes: chunks[0]?.length ?? 0,
      alwaysMsgsPerSec: Math.round(alwaysMsgsPerSec),
      neverMsgsPerSec: Math.round(neverMsgsPerSec),
      rawGroupCommitMsgsPerSec: Math.round(rawGroupCommitMsgsPerSec),
      rawPageCacheMsgsPerSec: Math.round(rawPageCacheMsgsPerSec),
      alwaysVsRaw: Number((alwaysMsgsPerSec / rawGroupCommitMsgsPerSec).toFixed(3)),
      neverVsRaw: Number((neverMsgsPerSec / rawPageCacheMsgsPerSec).toFixed(3)),
      crc32c: CRC.native ? "native (@node-rs/crc32)" : "pure JS",
      machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "?", tmpdir: os.tmpdir() },
    };
    if (opts.json) {
      console.log(JSON.stringify(result));
    } else {
      console.table({
        "log, sync always": { msgsPerSec: result.alwaysMsgsPerSec, vsRaw: result.alwaysVsRaw },
        "raw writev + fdatasync": { msgsPerSec: result.rawGroupCommitMsgsPerSec, vsRaw: 1 },
        "log, sync never": { msgsPerSec: result.neverMsgsPerSec, vsRaw: result.neverVsRaw },
        "raw writev (page cache)": { msgsPerSec: result.rawPageCacheMsgsPerSec, vsRaw: 1 },
      });
      console.log(`${result.records} records of ${result.recordBytes} bytes in batches of ${result.batch}; ${result.machine.cpus} x ${result.machine.cpuModel}, node ${result.machine.node}`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main();
