// Maps `clustering.raft.*` onto the metadata Raft's configuration: how a broker with an empty data
// directory starts (docs/clustering.md), and the limits Liftbridge lets an operator set. A data
// directory that already holds Raft state (or a single-node metadata log) ignores the bootstrap:
// the core decides from what the disk holds.
import { DEFAULT_METADATA_RAFT, type MetadataRaftConfig, type RaftBootstrap } from "../core/metadata/metadata-raft.js";
import type { LiftbridgeConfig } from "./config/config-schema.js";

/** How long a fresh `--raft-bootstrap-seed` first asks whether a cluster already runs on its NATS and namespace. */
export const SEED_PROBE_MS = 2000;

/**
 * The bootstrap of a fresh data directory: `--raft-bootstrap-seed` is a seed that first probes for a
 * running cluster; `--raft-bootstrap-peers` names the first voters; with neither, a broker on its
 * own embedded NATS is a cluster of one (npm start), and one on an external NATS joins whatever
 * cluster runs there (Liftbridge's quick start: the second broker needs no flag).
 */
export function raftBootstrapFrom(config: LiftbridgeConfig): RaftBootstrap {
  const { raftBootstrapSeed, raftBootstrapPeers } = config.clustering;
  if (raftBootstrapSeed) return { kind: "seed", probeMs: SEED_PROBE_MS };
  if (raftBootstrapPeers.length > 0) return { kind: "peers", peers: [...raftBootstrapPeers] };
  const embedded = config.nats.embedded || config.nats.embeddedConfig !== "";
  return embedded ? { kind: "seed" } : { kind: "join" };
}

/**
 * The metadata Raft's configuration. `clustering.raft.max.quorum.size` 0 means no limit (Liftbridge:
 * "disabled"); `clustering.raft.snapshot.threshold` is the number of applied entries between
 * snapshots, as in hashicorp/raft. Liftbridge has no keys for Raft timing: ours are the defaults.
 */
export function raftConfigFrom(config: LiftbridgeConfig): MetadataRaftConfig {
  const { raftMaxQuorumSize, raftSnapshotThreshold } = config.clustering;
  return {
    ...DEFAULT_METADATA_RAFT,
    bootstrap: raftBootstrapFrom(config),
    maxQuorumSize: raftMaxQuorumSize === 0 ? Number.MAX_SAFE_INTEGER : raftMaxQuorumSize,
    snapshotEntries: raftSnapshotThreshold,
  };
}
