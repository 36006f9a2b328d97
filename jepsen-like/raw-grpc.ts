// Hand-made protobuf fields and gRPC frames, for black-box tests that send what no generated client
// would (malformed bodies, lying length prefixes) or want exact control of the bytes on the wire.

const utf8 = new TextEncoder();

/** A protobuf varint of `n` (negative numbers as their 64-bit two's complement, as protobuf does). */
export function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** A length-delimited field (wire type 2) holding `bytes`. */
export function lenField(field: number, bytes: ArrayLike<number>): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...Array.from(bytes)];
}

/** A string field, UTF-8 encoded. */
export function strField(field: number, s: string): number[] {
  return lenField(field, utf8.encode(s));
}

/** A varint field (wire type 0). */
export function intField(field: number, n: number): number[] {
  return [...varint(field << 3), ...varint(n)];
}

/** A gRPC length-prefixed message: compressed flag, 32-bit big-endian length (may lie), bytes. */
export function grpcFrame(body: Uint8Array, declaredLength = body.length, compressed = 0): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = compressed;
  new DataView(out.buffer).setUint32(1, declaredLength >>> 0);
  out.set(body, 5);
  return out;
}
