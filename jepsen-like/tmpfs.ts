// A small tmpfs for a black-box test's data directory (full disks, or many partitions without
// minutes of real fsyncs). Mounting needs root: elsewhere the test is skipped with the reason.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Mounts a tmpfs of `sizeMiB` under a fresh temp directory; the mount point, or why it cannot (`whyRoot` says what root is for). */
export function mountTmpfs(sizeMiB: number, prefix: string, whyRoot: string): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: `needs root to mount a tmpfs (${whyRoot})` };
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tmpfs here: ${(e as Error).message.split("\n")[0]}` };
  }
}

/** Unmounts what mountTmpfs mounted and removes its directory. */
export function unmountTmpfs(dir: string): void {
  try {
    execFileSync("umount", [dir], { stdio: "pipe" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
