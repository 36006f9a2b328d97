// Typed encode/decode for the messages in api-types.ts (and, untyped, for any message in the
// .proto files), through protobufjs. For the subscribe hot path use message-encoder.ts instead.
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import type { WireInit, WireTypes } from "./api-types.js";
import { protoType } from "./proto-root.js";
import { fromProtobuf, toProtobufObject } from "./reflect-codec.js";

/** Encodes a typed message (absent fields and proto3 defaults are left off, as Go does). */
export function encodeWire<K extends keyof WireTypes>(typeName: K, value: WireInit<WireTypes[K]>): Uint8Array {
  return encodeProtoObject(typeName, value);
}

/** Decodes a typed message; malformed protobuf is an InvalidArgument error, never an exception. */
export function decodeWire<K extends keyof WireTypes>(typeName: K, data: Uint8Array): Result<WireTypes[K]> {
  return decodeProtoObject(typeName, data) as Result<WireTypes[K]>;
}

/** Encodes any message of the .proto files by full name, from the api-types.ts conventions. */
export function encodeProtoObject(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = protoType(typeName);
  const bytes = type.encode(type.fromObject(toProtobufObject(type, value))).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes any message of the .proto files by full name into the api-types.ts conventions. */
export function decodeProtoObject(typeName: string, data: Uint8Array): Result<Record<string, unknown>> {
  const type = protoType(typeName);
  try {
    return ok(fromProtobuf(type, type.decode(data)));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return err("InvalidArgument", `invalid ${typeName} protobuf: ${reason}`);
  }
}
