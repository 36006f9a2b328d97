// Test helpers for the commit log: a SimDisk-backed driver that applies a CommitLog's DiskOps in
// order, reopens the log, and builds messages from small test inputs.
import { applyDiskOp, type DiskOp } from "../../src/core/disk.js";
import { CommitLog } from "../../src/core/log/commit-log.js";
import type { LogConfig } from "../../src/core/log/log-config.js";
import { DEFAULT_LOG_CONFIG } from "../../src/core/log/log-config.js";
import type { AppendMessage } from "../../src/core/log/record-codec.js";
import type { LogEvent } from "../../src/core/outputs.js";
import type { TimeMs } from "../../src/core/types.js";
import { SimDisk, type SimDiskFaults } from "../sim-disk.js";
import { SimRandom } from "../sim-random.js";

/** The directory the harness keeps its log in. */
export const LOG_DIR = "streams/s/0";

/** A small-segment config for tests (overrides applied on top). */
export function testLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, segmentMaxBytes: 1024, segmentMaxAgeMs: 0, retentionMaxAgeMs: 0, maxMessageBytes: 4096, ...overrides };
}

/** A message with the given key and value text (null stays null) and optional headers. */
export function message(key: string | null, value: string | null, headers: readonly (readonly [string, string])[] = []): AppendMessage {
  const enc = new TextEncoder();
  return {
    key: key === null ? null : enc.encode(key),
    value: value === null ? null : enc.encode(value),
    headers: headers.map(([k, v]) => [k, enc.encode(v)] as const),
  };
}

/** Drives one CommitLog on one SimDisk: every op is applied right away, events are collected. */
export class LogHarness {
  readonly disk: SimDisk;
  log: CommitLog;
  readonly events: LogEvent[] = [];
  nowMs = 0;
  /** Ops applied so far (tests count and inspect them). */
  opsApplied = 0;

  constructor(
    readonly config: LogConfig,
    seed = 1,
    faults: Partial<SimDiskFaults> = {},
  ) {
    this.disk = new SimDisk({ random: new SimRandom(seed, "disk"), nowMs: () => this.nowMs, faults });
    this.log = this.open();
  }

  /** Applies ops in order. */
  apply(ops: readonly DiskOp[]): void {
    for (const op of ops) {
      applyDiskOp(this.disk, op);
      this.opsApplied++;
    }
  }

  /** Opens the log on the current disk contents and applies the recovery ops. */
  open(): CommitLog {
    const opened = CommitLog.open(this.disk, LOG_DIR, this.config, this.nowMs as TimeMs);
    this.apply(opened.ops);
    this.events.push(...opened.events);
    this.log = opened.log;
    return opened.log;
  }

  /** Closes and reopens the log (clean shutdown). */
  reopen(): CommitLog {
    this.apply(this.log.close());
    return this.open();
  }
}
