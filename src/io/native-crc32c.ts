// A native CRC-32C for production (@node-rs/crc32: a prebuilt binary shipped inside the npm
// package, SIMD-accelerated). It is used only if it gives the same answers as the core's pure-JS
// implementation on known vectors; otherwise the pure-JS one is returned.
import { createRequire } from "node:module";
import { crc32c as pureCrc32c, type Crc32c } from "../core/crc32c.js";

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

function loadNative(): NativeCrc | undefined {
  try {
    const mod = createRequire(import.meta.url)("@node-rs/crc32") as { crc32c?: NativeCrc };
    return typeof mod.crc32c === "function" ? mod.crc32c : undefined;
  } catch {
    return undefined;
  }
}

/** The fastest CRC-32C available here that agrees with the pure-JS reference. */
export function bestCrc32c(): { crc32c: Crc32c; native: boolean } {
  const native = loadNative();
  if (native === undefined) return { crc32c: pureCrc32c, native: false };
  const wrapped: Crc32c = (data, crc = 0) => native(data, crc) >>> 0;
  const vectors = [new TextEncoder().encode("123456789"), new Uint8Array(0), Uint8Array.from({ length: 1031 }, (_, i) => (i * 31) & 0xff)];
  const agrees = vectors.every((v) => wrapped(v) === pureCrc32c(v) && wrapped(v.subarray(5), pureCrc32c(v.subarray(0, 5))) === pureCrc32c(v));
  return agrees ? { crc32c: wrapped, native: true } : { crc32c: pureCrc32c, native: false };
}
