// Converts between protobufjs message objects and the plain shapes of api-types.ts, driven by
// reflection over the loaded .proto files, so one small piece of code serves every message type.
// The conversions are where int64 precision is kept (bigint) and proto3 defaults are dropped.
import protobuf from "protobufjs";

type Plain = Record<string, unknown>;

const SIGNED_64 = new Set(["int64", "sint64", "sfixed64"]);
const INT_KEYS = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);

/** Converts a protobufjs int64 value (Long, number or decimal string) to an exact bigint. */
export function longToBigInt(v: unknown, signed: boolean): bigint {
  let raw: bigint;
  if (typeof v === "bigint") raw = v;
  else if (typeof v === "number") raw = BigInt(v);
  else if (typeof v === "string") raw = BigInt(v);
  else if (v !== null && typeof v === "object" && "low" in v && "high" in v) {
    const long = v as protobuf.Long;
    raw = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  } else raw = 0n;
  return signed ? BigInt.asIntN(64, raw) : BigInt.asUintN(64, raw);
}

function scalarFromWire(field: protobuf.Field, v: unknown): unknown {
  if (field.long) return longToBigInt(v, SIGNED_64.has(field.type));
  if (field.bytes) {
    const b = v instanceof Uint8Array ? v : new Uint8Array(0);
    // A view, not a copy: a Buffer is a Uint8Array, but tests compare prototypes.
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return v;
}

function valueFromWire(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return fromProtobuf(t, v as protobuf.Message);
  return scalarFromWire(field, v);
}

function mapKeyFromWire(keyType: string, k: string): unknown {
  if (INT_KEYS.has(keyType)) return Number(k);
  if (keyType === "bool") return k === "true";
  // 64-bit map keys are not used by any Liftbridge message.
  return k;
}

/** Converts a decoded protobufjs message to the api-types.ts shape (defaults filled in). */
export function fromProtobuf(type: protobuf.Type, msg: protobuf.Message): Plain {
  const out: Plain = {};
  const m = msg as unknown as Plain;
  for (const field of type.fieldsArray) {
    const v = m[field.name];
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const entries = Object.entries((v ?? {}) as Plain);
      out[field.name] = new Map(entries.map(([k, x]) => [mapKeyFromWire(keyType, k), valueFromWire(field, x)]));
    } else if (field.repeated) {
      out[field.name] = ((v ?? []) as unknown[]).map((x) => valueFromWire(field, x));
    } else if (field.resolvedType instanceof protobuf.Type) {
      if (v !== null && v !== undefined) out[field.name] = valueFromWire(field, v);
    } else {
      out[field.name] = scalarFromWire(field, v ?? field.typeDefault);
    }
  }
  return out;
}

function isDefault(v: unknown): boolean {
  return v === 0 || v === 0n || v === "" || v === false || (v instanceof Uint8Array && v.length === 0);
}

function valueToWire(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return toProtobufObject(t, v as Plain);
  if (typeof v === "bigint") return (SIGNED_64.has(field.type) ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v)).toString();
  return v;
}

function mapToWire(field: protobuf.Field, v: unknown): Plain | undefined {
  const out: Plain = {};
  let any = false;
  for (const [k, x] of v as Iterable<readonly [unknown, unknown]>) {
    out[String(k)] = valueToWire(field, x);
    any = true;
  }
  return any ? out : undefined;
}

/** Converts an api-types.ts shape to a plain object for `Type.fromObject`, leaving out proto3 defaults. */
export function toProtobufObject(type: protobuf.Type, obj: Plain): Plain {
  const out: Plain = {};
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    if (field.map) {
      const m = mapToWire(field, v);
      if (m !== undefined) out[field.name] = m;
    } else if (field.repeated) {
      const arr = v as readonly unknown[];
      if (arr.length > 0) out[field.name] = arr.map((x) => valueToWire(field, x));
    } else if (field.resolvedType instanceof protobuf.Type || !isDefault(v)) {
      out[field.name] = valueToWire(field, v);
    }
  }
  return out;
}
