// Operating errors and Ack errors as gRPC statuses and PublishAsyncError codes (spec §2.5). The
// messages pass through unchanged: Liftbridge clients match on them.
import { status as Status } from "@grpc/grpc-js";
import type { ErrorCode, OperatingError } from "../../core/errors.js";
import { AckError, PublishAsyncErrorCode } from "../wire/api-types.js";

/** A gRPC status a handler ends a call with. */
export interface GrpcStatus {
  readonly code: Status;
  readonly details: string;
}

/** The gRPC status code of an operating error code (one exhaustive switch: a new code must be mapped). */
export function grpcCodeOf(code: ErrorCode): Status {
  switch (code) {
    case "InvalidArgument":
    case "MessageTooLarge":
      return Status.INVALID_ARGUMENT;
    case "StreamNotFound":
    case "PartitionNotFound":
      return Status.NOT_FOUND;
    case "StreamExists":
      return Status.ALREADY_EXISTS;
    case "NotLeader":
    case "PartitionPaused":
    case "ReadonlyPartition":
      return Status.FAILED_PRECONDITION;
    case "IncorrectOffset":
    case "PayloadTooLarge":
      // Liftbridge reports these as plain Go errors, which gRPC sends as Unknown.
      return Status.UNKNOWN;
    case "EndOfReadonlyPartition":
    case "StopOffsetReached":
    case "StreamEmpty":
    case "DiskFull":
      return Status.RESOURCE_EXHAUSTED;
    case "Unimplemented":
      return Status.UNIMPLEMENTED;
    case "Unavailable":
      return Status.UNAVAILABLE;
    case "OffsetOutOfRange":
    case "CorruptRecord":
    case "DiskFailed":
    case "Internal":
      return Status.INTERNAL;
  }
}

/**
 * Longest status message sent, in characters: a message that quotes a huge client string would
 * not fit the client's HTTP/2 header limit (16 KiB by default; grpc-message is percent-encoded,
 * up to 9 bytes per character) and the call would never end.
 */
export const MAX_STATUS_DETAILS_CHARS = 1024;

/** `details` cut to MAX_STATUS_DETAILS_CHARS (Liftbridge's own messages are far shorter). */
export function boundedDetails(details: string): string {
  return details.length <= MAX_STATUS_DETAILS_CHARS ? details : `${details.slice(0, MAX_STATUS_DETAILS_CHARS - 20)}... (${details.length} chars)`;
}

/** The gRPC status of an operating error; the message is passed through (bounded). */
export function statusOf(error: OperatingError): GrpcStatus {
  return { code: grpcCodeOf(error.code), details: boundedDetails(error.message) };
}

/** The PublishAsyncError.Code a PublishAsync precondition failure is reported with. */
export function asyncErrorCodeOf(code: ErrorCode): number {
  switch (code) {
    case "InvalidArgument":
    case "MessageTooLarge":
      return PublishAsyncErrorCode.BAD_REQUEST;
    case "StreamNotFound":
    case "PartitionNotFound":
      return PublishAsyncErrorCode.NOT_FOUND;
    case "ReadonlyPartition":
      return PublishAsyncErrorCode.READONLY;
    case "IncorrectOffset":
      return PublishAsyncErrorCode.INCORRECT_OFFSET;
    case "Internal":
    case "PayloadTooLarge":
    case "DiskFull":
    case "DiskFailed":
    case "CorruptRecord":
      return PublishAsyncErrorCode.INTERNAL;
    case "StreamExists":
    case "NotLeader":
    case "PartitionPaused":
    case "OffsetOutOfRange":
    case "EndOfReadonlyPartition":
    case "StopOffsetReached":
    case "StreamEmpty":
    case "Unimplemented":
    case "Unavailable":
      return PublishAsyncErrorCode.UNKNOWN;
  }
}

/** A PublishAsyncError: code and message. */
export interface AsyncError {
  readonly code: number;
  readonly message: string;
}

/** Liftbridge's conversion of an Ack.Error to a PublishAsyncError; undefined for OK. */
export function asyncErrorOfAck(ackError: number): AsyncError | undefined {
  switch (ackError) {
    case AckError.OK:
      return undefined;
    case AckError.INCORRECT_OFFSET:
      return { code: PublishAsyncErrorCode.INCORRECT_OFFSET, message: "incorrect expected offset" };
    case AckError.TOO_LARGE:
      return { code: PublishAsyncErrorCode.BAD_REQUEST, message: "message exceeds max replication size" };
    case AckError.ENCRYPTION:
      return { code: PublishAsyncErrorCode.ENCRYPTION_FAILED, message: "encryption failed on partition" };
    default:
      return { code: PublishAsyncErrorCode.UNKNOWN, message: "unknown error" };
  }
}

/** Liftbridge's conversion of a PublishAsyncError to the status a unary Publish fails with. */
export function statusOfAsyncError(e: AsyncError): GrpcStatus {
  switch (e.code) {
    case PublishAsyncErrorCode.NOT_FOUND:
      return { code: Status.NOT_FOUND, details: e.message };
    case PublishAsyncErrorCode.BAD_REQUEST:
      return { code: Status.INVALID_ARGUMENT, details: e.message };
    case PublishAsyncErrorCode.READONLY:
      return { code: Status.FAILED_PRECONDITION, details: e.message };
    case PublishAsyncErrorCode.ENCRYPTION_FAILED:
      return { code: Status.INTERNAL, details: e.message };
    default:
      return { code: Status.UNKNOWN, details: e.message };
  }
}

/** The status a unary Publish fails with when its ack carries an error; undefined for OK. */
export function statusOfAckError(ackError: number): GrpcStatus | undefined {
  const e = asyncErrorOfAck(ackError);
  return e === undefined ? undefined : statusOfAsyncError(e);
}

/** Ends a server-streaming call with a status, after whatever was already written. */
export function endWithStatus(call: { emit(event: "error", e: unknown): boolean }, s: GrpcStatus): void {
  // grpc-js's own 'error' listener records the status and ends the stream, flushing queued writes first.
  call.emit("error", { code: s.code, details: boundedDetails(s.details) });
}
