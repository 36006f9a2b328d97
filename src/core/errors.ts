// Operating errors: expected failures that are values, never exceptions. They are mapped to gRPC
// status codes and Ack errors only in src/io/.

/** Every kind of operating error the core can report. */
export type ErrorCode =
  | "InvalidArgument"
  | "StreamNotFound"
  | "StreamExists"
  | "PartitionNotFound"
  | "NotLeader"
  | "PartitionPaused"
  | "ReadonlyPartition"
  | "IncorrectOffset"
  | "MessageTooLarge"
  | "PayloadTooLarge"
  | "OffsetOutOfRange"
  | "EndOfReadonlyPartition"
  | "StopOffsetReached"
  | "StreamEmpty"
  | "CorruptRecord"
  | "DiskFull"
  | "DiskFailed"
  | "Unimplemented"
  /** The broker is stopping (or not serving yet): try again, elsewhere if need be. */
  | "Unavailable"
  | "Internal";

/** An operating error: a code to branch on and a message for people. */
export interface OperatingError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** The outcome of an operation that can fail for operating reasons. */
export type Result<T, E extends OperatingError = OperatingError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** Wraps a success. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps an operating error. */
export function err(code: ErrorCode, message: string): { readonly ok: false; readonly error: OperatingError } {
  return { ok: false, error: { code, message } };
}
