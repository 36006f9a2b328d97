// The unary admin and metadata RPCs: map the request to a core ApiRequest, run it, and encode the
// core's answer; cursor and consumer-group RPCs answer UNIMPLEMENTED until their issue.
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import type { ApiRequest, ApiResponse } from "../../core/broker/api-types.js";
import type { Result } from "../../core/errors.js";
import { ok } from "../../core/errors.js";
import type { BrokerService } from "../broker-service.js";
import type { ApiMethod, Decoded } from "./api-service-definition.js";
import { statusOf } from "./grpc-status.js";
import { sendReply } from "./publish-handlers.js";
import { createStreamRequestOf } from "./request-mapping.js";
import { EMPTY_RESPONSE, encodeMetadataResponse, encodePartitionMetadataResponse } from "./response-encoding.js";
import { attempt, messageOf } from "./attempt.js";

type UnaryHandler<M extends ApiMethod> = (call: ServerUnaryCall<Decoded<M>, Uint8Array>, callback: sendUnaryData<Uint8Array>) => void;

/** The RPCs answered by running one core request. */
export type CoreUnaryMethod = "CreateStream" | "DeleteStream" | "PauseStream" | "SetStreamReadonly" | "FetchMetadata" | "FetchPartitionMetadata";

/** The RPCs not implemented yet. */
export const UNIMPLEMENTED_METHODS = [
  "SetCursor", "FetchCursor", "JoinConsumerGroup", "LeaveConsumerGroup", "FetchConsumerGroupAssignments", "ReportConsumerGroupCoordinator",
] as const satisfies readonly ApiMethod[];

/** How one RPC becomes a core request and how the core's answer is encoded. */
interface CoreMapping<M extends ApiMethod> {
  readonly toRequest: (r: Exclude<Decoded<M>, { ok: false }>["value"]) => Result<ApiRequest>;
  readonly encode: (response: ApiResponse, r: Exclude<Decoded<M>, { ok: false }>["value"]) => Uint8Array;
}

function encodeDone(): Uint8Array {
  return EMPTY_RESPONSE;
}

const MAPPINGS: { readonly [M in CoreUnaryMethod]: CoreMapping<M> } = {
  CreateStream: { toRequest: createStreamRequestOf, encode: encodeDone },
  DeleteStream: { toRequest: (r) => ok({ kind: "deleteStream", name: r.name }), encode: encodeDone },
  PauseStream: {
    toRequest: (r) => ok({ kind: "pauseStream", name: r.name, partitions: r.partitions, resumeAll: r.resumeAll }),
    encode: encodeDone,
  },
  SetStreamReadonly: {
    toRequest: (r) => ok({ kind: "setStreamReadonly", name: r.name, partitions: r.partitions, readonly: r.readonly }),
    encode: encodeDone,
  },
  FetchMetadata: {
    toRequest: (r) => ok({ kind: "fetchMetadata", streams: r.streams }),
    encode: (response, r) => {
      if (response.kind !== "metadata") throw new Error(`FetchMetadata answered with ${response.kind}`);
      return encodeMetadataResponse(response, r.groups);
    },
  },
  FetchPartitionMetadata: {
    toRequest: (r) => ok({ kind: "fetchPartitionMetadata", stream: r.stream, partition: r.partition }),
    encode: (response) => {
      if (response.kind !== "partitionMetadata") throw new Error(`FetchPartitionMetadata answered with ${response.kind}`);
      return encodePartitionMetadataResponse(response.metadata);
    },
  },
};

/** The handler of a core-backed unary RPC. */
export function coreUnaryHandler<M extends CoreUnaryMethod>(service: BrokerService, method: M): UnaryHandler<M> {
  const mapping = MAPPINGS[method] as CoreMapping<M>;
  return (call, callback) => {
    const decoded = call.request;
    if (!decoded.ok) return sendReply(callback, { ok: false, status: statusOf(decoded.error) });
    const r = decoded.value;
    const request = mapping.toRequest(r);
    if (!request.ok) return sendReply(callback, { ok: false, status: statusOf(request.error) });
    attempt(() => service.request(request.value)).then(
      (result) => {
        if (result.ok) callback(null, mapping.encode(result.value, r));
        else sendReply(callback, { ok: false, status: statusOf(result.error) });
      },
      (e: unknown) => sendReply(callback, { ok: false, status: { code: Status.INTERNAL, details: messageOf(e) } }),
    ).catch((e: unknown) => sendReply(callback, { ok: false, status: { code: Status.INTERNAL, details: messageOf(e) } }));
  };
}

/** The handler of an RPC that is not implemented yet. */
export function unimplementedHandler(method: ApiMethod): UnaryHandler<ApiMethod> {
  return (_call, callback) => {
    callback({ code: Status.UNIMPLEMENTED, details: `${method} is not implemented yet (cursors and consumer groups come in a later release)` });
  };
}
