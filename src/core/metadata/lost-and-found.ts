// Where startup puts what it cannot account for: `<data>/lost+found/<UTC stamp>/`, one folder per
// startup that moved something, holding the moved paths under their original relative names
// (`streams/<name>`, `metadata/metadata.log`). Nothing there is ever read or removed by the broker.
import { joinPath, parentDir, type DiskOp, type DiskReader } from "../disk.js";
import type { TimestampNs } from "../types.js";

const MS_PER_DAY = 86_400_000;

/** Plans moves into one lost+found folder, creating the folder (durably) on first use. */
export class LostAndFound {
  private dir: string | undefined;
  private readonly madeDirs = new Set<string>();

  constructor(
    private readonly reader: DiskReader,
    private readonly dataDir: string,
    private readonly wallNs: TimestampNs,
  ) {}

  /** The folder this startup moves things into (chosen on first use, never an existing one). */
  folder(): string {
    if (this.dir !== undefined) return this.dir;
    const base = joinPath(this.dataDir, "lost+found", utcStamp(this.wallNs));
    let dir = base;
    for (let n = 2; this.reader.stat(dir) !== undefined; n++) dir = `${base}-${n}`;
    this.dir = dir;
    return dir;
  }

  /** Ops that move `relative` (a path under the data dir) into the folder, durably. */
  move(relative: string): { to: string; ops: DiskOp[] } {
    const to = joinPath(this.folder(), relative);
    const from = joinPath(this.dataDir, relative);
    const ops = [...this.ensureDir(parentDir(to)), { kind: "rename", from, to } as const];
    ops.push({ kind: "syncDir", path: parentDir(to) }, { kind: "syncDir", path: parentDir(from) });
    return { to, ops };
  }

  /** Ops that write a copy of `bytes` as `relative` in the folder, durably (the original stays). */
  copy(relative: string, bytes: Uint8Array): { to: string; ops: DiskOp[] } {
    const to = joinPath(this.folder(), relative);
    const ops: DiskOp[] = [
      ...this.ensureDir(parentDir(to)),
      { kind: "create", path: to },
      { kind: "write", path: to, position: 0, chunks: [bytes] },
      { kind: "fdatasync", path: to },
      { kind: "close", path: to },
      { kind: "syncDir", path: parentDir(to) },
    ];
    return { to, ops };
  }

  /** mkdir plus a syncDir of every directory up to the data dir, so the new entries survive a crash. */
  private ensureDir(dir: string): DiskOp[] {
    if (this.madeDirs.has(dir)) return [];
    this.madeDirs.add(dir);
    const ops: DiskOp[] = [{ kind: "mkdir", path: dir }];
    for (let d = dir; d !== this.dataDir && d !== ""; d = parentDir(d)) ops.push({ kind: "syncDir", path: parentDir(d) });
    return ops;
  }
}

/** `YYYYMMDDTHHMMSSZ` for a wall-clock time (the core has no Date; civil-from-days arithmetic). */
export function utcStamp(wallNs: TimestampNs): string {
  const ms = Number(wallNs / 1_000_000n);
  const days = Math.floor(ms / MS_PER_DAY);
  const secondOfDay = Math.floor((ms - days * MS_PER_DAY) / 1000);
  // Howard Hinnant's civil_from_days: eras of 400 years starting on 0000-03-01.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(secondOfDay / 3600);
  const mm = Math.floor((secondOfDay % 3600) / 60);
  const ss = secondOfDay % 60;
  return `${pad(year, 4)}${pad(month, 2)}${pad(day, 2)}T${pad(hh, 2)}${pad(mm, 2)}${pad(ss, 2)}Z`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
