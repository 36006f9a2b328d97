// A rolling FNV-1a 64-bit hash over the UTF-8 bytes of a run's trace. Two runs of one seed must
// produce the same hash (determinism self-check); it is computed in two 32-bit lanes so the hot
// path allocates nothing (no BigInt, no TextEncoder buffers).
import { assert } from "../src/core/assert.js";

const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
// The FNV 64-bit prime is 2^40 + 0x1b3: multiply by 0x1b3 and add the value shifted left by 40.
const PRIME_LOW = 0x1b3;
const TWO_POW_32 = 0x1_0000_0000;

/** FNV-1a 64 folded incrementally; the same bytes in any chunking give the same hash. */
export class TraceHash {
  private hi = OFFSET_HI;
  private lo = OFFSET_LO;
  /** Scratch space for updateUint (a safe integer has at most 16 decimal digits). */
  private readonly digits = new Uint8Array(16);

  /** Folds one byte (0..255). */
  updateByte(byte: number): void {
    const lo = (this.lo ^ byte) >>> 0;
    const loProduct = lo * PRIME_LOW; // < 2^41: exact in a double.
    // hi*0x1b3 + carry + (lo << 8) < 2^42, exact; >>> 0 then reduces modulo 2^32.
    this.hi = (this.hi * PRIME_LOW + Math.floor(loProduct / TWO_POW_32) + ((lo << 8) >>> 0)) >>> 0;
    this.lo = loProduct >>> 0;
  }

  /** Folds the UTF-8 encoding of `text` (a lone surrogate encodes as U+FFFD, as TextEncoder does). */
  updateString(text: string): void {
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        this.updateByte(c);
        continue;
      }
      if (c < 0x800) {
        this.updateByte(0xc0 | (c >> 6));
        this.updateByte(0x80 | (c & 0x3f));
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          this.updateByte(0xf0 | (cp >> 18));
          this.updateByte(0x80 | ((cp >> 12) & 0x3f));
          this.updateByte(0x80 | ((cp >> 6) & 0x3f));
          this.updateByte(0x80 | (cp & 0x3f));
          continue;
        }
        c = 0xfffd;
      }
      this.updateByte(0xe0 | (c >> 12));
      this.updateByte(0x80 | ((c >> 6) & 0x3f));
      this.updateByte(0x80 | (c & 0x3f));
    }
  }

  /** Folds the decimal ASCII digits of a non-negative safe integer (same bytes as String(n)). */
  updateUint(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= 0)) assert(false, `TraceHash.updateUint: need a non-negative safe integer, got ${n}`);
    const digits = this.digits;
    let i = digits.length;
    let rest = n;
    do {
      // % and the division of an exact multiple of 10 are exact in doubles, even near 2^53.
      const digit = rest % 10;
      digits[--i] = 0x30 + digit;
      rest = (rest - digit) / 10;
    } while (rest > 0);
    for (; i < digits.length; i++) this.updateByte(digits[i] as number);
  }

  /** The current hash as 16 lowercase hex digits. */
  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }
}

/** FNV-1a 64 of a string's UTF-8 bytes, as 16 hex digits. */
export function fnv1a64Hex(text: string): string {
  const hash = new TraceHash();
  hash.updateString(text);
  return hash.hex();
}
