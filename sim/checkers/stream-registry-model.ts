// The sequential model of stream names for the linearizability checker: CreateStream,
// DeleteStream and a metadata read of one name, partitioned by stream name. Concurrent creates of
// one name through different brokers must give exactly one success (issue 12's "linearizable
// metadata").
import type { Model } from "./linearizability.js";

/** An operation on one stream name. */
export type StreamRegistryInput =
  | { readonly kind: "create"; readonly name: string }
  | { readonly kind: "delete"; readonly name: string }
  | { readonly kind: "read"; readonly name: string };

/**
 * What the client was told: `ok`; `exists` (CreateStream: AlreadyExists); `notFound`
 * (DeleteStream, or a read that did not find it); `found` (a read that found it); `rejected`
 * (an error that certainly changed nothing, e.g. InvalidArgument). A timeout or an unavailable
 * broker is no output at all (undefined): the op may or may not have taken effect.
 */
export type StreamRegistryOutput = "ok" | "exists" | "notFound" | "found" | "rejected";

/** Whether the stream exists. */
export type StreamRegistryState = boolean;

/** The model: one boolean per stream name. */
export const streamRegistryModel: Model<StreamRegistryState, StreamRegistryInput, StreamRegistryOutput> = {
  init: false,
  partition: (input) => input.name,
  key: (state) => (state ? "1" : "0"),
  describe: (input, output) => `${input.kind}(${input.name}) -> ${output ?? "unknown"}`,
  step(exists, input, output) {
    if (output === "rejected") return [exists];
    switch (input.kind) {
      case "create":
        if (output === undefined) return exists ? [true] : [false, true];
        if (output === "ok") return exists ? [] : [true];
        return output === "exists" && exists ? [true] : [];
      case "delete":
        if (output === undefined) return exists ? [true, false] : [false];
        if (output === "ok") return exists ? [false] : [];
        return output === "notFound" && !exists ? [false] : [];
      case "read":
        if (output === undefined) return [exists];
        return (output === "found" && exists) || (output === "notFound" && !exists) ? [exists] : [];
    }
  },
};
