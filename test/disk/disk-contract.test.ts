import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeDisk } from "../../src/io/node-disk.js";
import { SimDisk } from "../../sim/sim-disk.js";
import { SimRandom } from "../../sim/sim-random.js";
import { runDiskContract } from "../../sim/testing/disk-contract.js";

runDiskContract("NodeDisk", () => {
  const dir = mkdtempSync(join(tmpdir(), "liftbridge-disk-"));
  const disk = new NodeDisk(dir);
  return {
    disk,
    cleanup: () => {
      disk.closeAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let seed = 0;
runDiskContract("SimDisk", () => {
  let now = 1_000;
  const disk = new SimDisk({ random: new SimRandom(++seed, "disk"), nowMs: () => now++ });
  return { disk, cleanup: () => undefined };
});
