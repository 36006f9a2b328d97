// Command-line options of `npm run bench` and the sizes of each workload.
import { Command } from "commander";

/** Row ids `--profile` accepts (ours' rows: the broker is profiled during that row only). */
export const PROFILABLE = ["async", "async-grpc", "read", "read-http2", "sync", "async-always", "sync-always", "async-embedded", "sync-embedded"] as const;

/** Parsed options and the sizes they imply. */
export interface BenchOptions {
  readonly json: boolean;
  readonly quick: boolean;
  readonly profile: string | undefined;
  readonly profileDir: string | undefined;
  readonly valueBytes: number;
  /** Messages per async publish run (and so stored for the catch-up read). */
  readonly asyncMessages: number;
  readonly window: number;
  /** Measured seconds of each sync run (after warm-up). */
  readonly syncSeconds: number;
  readonly syncWarmupSeconds: number;
  /** Time bound of each async or read run. */
  readonly maxRunSeconds: number;
  /** Time bound of the gRPC PublishAsync row (an extra; it is the slowest path and only its rate matters). */
  readonly extraRunSeconds: number;
  /** Skip the rows no ratio needs (gRPC PublishAsync, embedded NATS, the node:http2 reader). */
  readonly skipExtras: boolean;
  /** How many times the rows behind the ratios run (each round pairs JetStream and ours back to back). */
  readonly rounds: number;
  /** Rounds after the first are skipped when they would take the whole run past this. */
  readonly budgetSeconds: number;
}

/** Parses argv (commander exits on --help or a bad option). */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const program = new Command()
    .name("bench")
    .description("Liftbridge-TS and NATS JetStream side by side on this machine (issue 5). Table on stderr.")
    .option("--json", "print exactly one JSON object on stdout", false)
    .option("--quick", "small counts for development (100,000 messages, 2 s sync runs)", false)
    .option("--profile <row>", `CPU-profile the broker during one row: ${PROFILABLE.join(", ")}`)
    .option("--profile-dir <dir>", "where --profile writes the .cpuprofile (default: a new temp dir)")
    .option("--messages <n>", "messages per async run and for the catch-up read (default 1,000,000; --quick 100,000)")
    .option("--sync-seconds <s>", "measured seconds per sync run (default 8; --quick 2)")
    .option("--skip-extras", "skip the rows no ratio needs (gRPC PublishAsync, embedded NATS, node:http2 reader)", false)
    .option("--rounds <n>", "rounds of the rows behind the ratios; each ratio is the median over rounds (default 5; --quick 1)")
    .option("--budget-seconds <s>", "skip further rounds when one more would end the run after this (default 540)")
    .parse(argv);
  const o = program.opts<{
    json: boolean; quick: boolean; profile?: string; profileDir?: string; messages?: string; syncSeconds?: string;
    skipExtras: boolean; rounds?: string; budgetSeconds?: string;
  }>();
  if (o.profile !== undefined && !(PROFILABLE as readonly string[]).includes(o.profile)) {
    program.error(`--profile: unknown row "${o.profile}" (one of ${PROFILABLE.join(", ")})`);
  }
  const positive = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) program.error(`${name}: expected a positive number, got "${v}"`);
    return n;
  };
  return {
    json: o.json, quick: o.quick, profile: o.profile, profileDir: o.profileDir, valueBytes: 1024, window: 1000,
    asyncMessages: Math.floor(positive("--messages", o.messages, o.quick ? 100_000 : 1_000_000)),
    syncSeconds: positive("--sync-seconds", o.syncSeconds, o.quick ? 2 : 8),
    syncWarmupSeconds: o.quick ? 0.5 : 1,
    maxRunSeconds: o.quick ? 20 : 60,
    extraRunSeconds: 10,
    skipExtras: o.skipExtras,
    rounds: Math.floor(positive("--rounds", o.rounds, o.quick ? 1 : 5)),
    budgetSeconds: positive("--budget-seconds", o.budgetSeconds, 540),
  };
}
