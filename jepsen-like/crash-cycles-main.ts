// `npm run crash-cycles -- --cycles 50 [--seed s] [--kill-after 300-1500] [--planted-bugs ackBeforePersist]
// [--damage truncateSegmentTails] [--kill-at mixed|random|afterAck]`: the crash-cycle suite for longer runs than npm test allows.
// Prints one line per cycle and the final counts; exits 1 when the checker found anything.
import { parseArgs } from "node:util";
import { runCrashCycles } from "./crash-cycles.js";
import { summarize } from "./history-checker.js";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cycles: { type: "string", default: "50" },
      seed: { type: "string", default: String(Date.now()) },
      "kill-after": { type: "string", default: "300-1500" },
      padding: { type: "string", default: "1024" },
      "planted-bugs": { type: "string" },
      damage: { type: "string", default: "none" },
      "kill-at": { type: "string", default: "mixed" },
    },
  });
  const [lo, hi] = values["kill-after"].split("-").map(Number);
  if (lo === undefined || hi === undefined || !(lo >= 0 && hi >= lo)) throw new Error(`--kill-after wants min-max ms, got ${values["kill-after"]}`);
  if (values.damage !== "none" && values.damage !== "truncateSegmentTails") throw new Error(`--damage: none or truncateSegmentTails`);
  const killAt = values["kill-at"];
  if (killAt !== "mixed" && killAt !== "random" && killAt !== "afterAck") throw new Error(`--kill-at: mixed, random or afterAck`);
  const started = Date.now();
  console.log(`crash cycles: ${values.cycles} cycles, seed ${values.seed}, kill after ${lo}-${hi} ms`);
  const result = await runCrashCycles({
    cycles: Number(values.cycles), seed: values.seed, killAfterMs: [lo, hi], paddingBytes: Number(values.padding), killAt,
    damage: values.damage, log: (line) => console.log(line),
    ...(values["planted-bugs"] !== undefined ? { plantedBugs: values["planted-bugs"] } : {}),
  });
  console.log(`final: ${summarize(result.final)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (!result.ok) {
    for (const c of result.cycles.filter((x) => !x.report.ok)) {
      const r = c.report;
      console.log(`cycle ${c.cycle + 1}: lost ${r.lost.slice(0, 5).join(" ")} duplicated ${r.duplicated.slice(0, 5).join(" ")} reordered ${r.reordered.slice(0, 5).join(" ")} invented ${r.invented.slice(0, 3).join(" ")} misplaced ${r.misplaced.slice(0, 5).join(" ")} gaps ${r.gaps.slice(0, 3).join(" ")} unreadable ${r.unreadable.join(" ")}`);
    }
  }
  return result.ok ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exitCode = 2;
});
