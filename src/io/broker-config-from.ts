// Maps the parsed Liftbridge configuration onto what the broker core acts on.
import type { BrokerConfig } from "../core/broker/broker-config.js";
import type { StreamDefaults } from "../core/metadata/stream-config.js";
import { nodeId } from "../core/types.js";
import { advertisedAddress, type LiftbridgeConfig } from "./config/config-schema.js";
import { raftConfigFrom } from "./raft-config-from.js";

/** Liftbridge writes the high watermark checkpoint every 5 s (spec §5, hard-coded internals). */
export const HW_CHECKPOINT_INTERVAL_MS = 5000;

/** The core's configuration for a server with id `serverId`, advertising `advertisedPort` (the bound gRPC port) when given. */
export function brokerConfigFrom(config: LiftbridgeConfig, serverId: string, advertisedPort?: number): BrokerConfig {
  const { concurrencyControl, syncPolicy, syncIntervalMs, ...shared } = config.streams;
  const streamDefaults: StreamDefaults = { ...shared, minIsr: config.clustering.minInsyncReplicas, optimisticConcurrencyControl: concurrencyControl };
  const advertised = advertisedAddress(config);
  return {
    serverId: nodeId(serverId),
    namespace: config.clustering.namespace,
    host: advertised.host,
    port: advertisedPort ?? advertised.port,
    dataDir: "",
    streamDefaults,
    syncPolicy,
    syncIntervalMs,
    replicationMaxBytes: config.clustering.replicationMaxBytes,
    batchMaxMessages: config.batch.maxMessages,
    subscriberBatchMaxBytes: 1024 * 1024,
    hwCheckpointIntervalMs: HW_CHECKPOINT_INTERVAL_MS,
    raft: raftConfigFrom(config),
  };
}
