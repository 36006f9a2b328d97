// The typed broker configuration. Field names are camelCase with units last (durations are whole
// milliseconds, sizes are bytes); config-keys.ts maps each field to its Liftbridge key.
import { assert } from "../../core/assert.js";
import type { LogLevel } from "../../core/outputs.js";
import type { StreamDefaults } from "../../core/metadata/stream-config.js";
import type { ConfigKey, ConfigValue, HostPort } from "./config-keys.js";

/** How the broker makes written messages durable (`streams.sync.policy`). */
export type SyncPolicy = "always" | "interval" | "never";
/** How log lines are rendered (`logging.format`). */
export type LogFormat = "json" | "pretty";
/** Ack policy of activity-stream publishes (`activity.stream.publish.ack.policy`). */
export type ActivityAckPolicy = "none" | "leader" | "all";

/** The whole broker configuration, every key of Liftbridge's spec §5 plus ours. */
export interface LiftbridgeConfig {
  /** `listen`: bind address; undefined means bind `host` (or 0.0.0.0) on `port`. */
  readonly listen: HostPort | undefined;
  /** `host`: address advertised to clients; undefined means the listen host, else localhost. */
  readonly host: string | undefined;
  readonly port: number;
  /** `data.dir`; defaults to /tmp/liftbridge/<namespace>. */
  readonly dataDir: string;
  readonly metadata: { readonly cacheMaxAgeMs: number };
  /** `grpc.*` (ours): connection and buffer limits of the gRPC API (0 = unlimited / never). */
  readonly grpc: GrpcLimits;
  /** `shutdown.timeout` (ours): a graceful stop that takes longer exits anyway. */
  readonly shutdown: { readonly timeoutMs: number };
  readonly logging: {
    readonly level: LogLevel;
    readonly format: LogFormat;
    readonly recovery: boolean;
    readonly raft: boolean;
    readonly nats: boolean;
  };
  readonly batch: { readonly maxMessages: number; readonly maxTimeMs: number };
  readonly tls: {
    readonly key: string;
    readonly cert: string;
    readonly clientAuthEnabled: boolean;
    readonly clientAuthCa: string;
    readonly clientAuthzEnabled: boolean;
    readonly clientAuthzModel: string;
    readonly clientAuthzPolicy: string;
  };
  readonly nats: {
    readonly servers: readonly string[];
    readonly user: string;
    readonly password: string;
    readonly tlsCert: string;
    readonly tlsKey: string;
    readonly tlsCa: string;
    /** True when `nats.embedded` is set or implied by `nats.embedded.config`. */
    readonly embedded: boolean;
    readonly embeddedConfig: string;
  };
  /**
   * `streams.*`: the per-stream defaults (StreamDefaults; segmentMaxAgeMs 0 = no time-based roll,
   * a positive value is at least 1000) under their config names, minIsr being a clustering key,
   * plus the server-wide sync policy (syncIntervalMs is used only by "interval").
   */
  readonly streams: Omit<StreamDefaults, "minIsr" | "optimisticConcurrencyControl"> & {
    readonly concurrencyControl: boolean;
    readonly syncPolicy: SyncPolicy;
    readonly syncIntervalMs: number;
  };
  readonly clustering: {
    /** Undefined when not configured: the broker generates one and persists it in the data dir. */
    readonly serverId: string | undefined;
    readonly namespace: string;
    readonly raftSnapshotRetain: number;
    readonly raftSnapshotThreshold: number;
    readonly raftCacheSize: number;
    readonly raftBootstrapSeed: boolean;
    readonly raftBootstrapPeers: readonly string[];
    readonly raftMaxQuorumSize: number;
    readonly replicaMaxLagTimeMs: number;
    readonly replicaMaxLeaderTimeoutMs: number;
    readonly replicaMaxIdleWaitMs: number;
    readonly replicaFetchTimeoutMs: number;
    readonly minInsyncReplicas: number;
    readonly replicationMaxBytes: number;
  };
  readonly activity: {
    readonly streamEnabled: boolean;
    readonly streamPublishTimeoutMs: number;
    readonly streamPublishAckPolicy: ActivityAckPolicy;
  };
  readonly cursors: {
    readonly streamPartitions: number;
    readonly streamReplicationFactor: number;
    readonly streamAutoPauseTimeMs: number;
  };
  readonly groups: { readonly consumerTimeoutMs: number; readonly coordinatorTimeoutMs: number };
  readonly telemetry: { readonly enabled: boolean; readonly intervalSeconds: number };
}

/** The gRPC API's connection and buffer limits (`grpc.*`). */
export interface GrpcLimits {
  readonly maxConnections: number;
  readonly connectionIdleTimeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly subscriberMaxBufferedBytes: number;
  readonly subscribersMaxBufferedBytes: number;
  readonly subscriberStallTimeoutMs: number;
  readonly publishAsyncMaxBufferedBytes: number;
}

/** Reads the resolved value of a key (defaults and derived values already applied). */
export type ValueOf = (key: ConfigKey) => ConfigValue | undefined;

/** Typed accessors over a ValueOf; a wrong type is a bug in config-keys.ts, hence assert. */
function accessors(value: ValueOf) {
  const get = <T>(key: ConfigKey, check: (v: unknown) => v is T, what: string): T => {
    const v = value(key);
    assert(check(v), `config key ${key} should hold ${what}, holds ${JSON.stringify(v)}`);
    return v;
  };
  return {
    str: (key: ConfigKey) => get(key, (v): v is string => typeof v === "string", "a string"),
    num: (key: ConfigKey) => get(key, (v): v is number => typeof v === "number", "a number"),
    bool: (key: ConfigKey) => get(key, (v): v is boolean => typeof v === "boolean", "a boolean"),
    list: (key: ConfigKey) => get(key, (v): v is readonly string[] => Array.isArray(v), "a list"),
    optStr: (key: ConfigKey) => get(key, (v): v is string | undefined => v === undefined || typeof v === "string", "a string"),
    optHostPort: (key: ConfigKey) =>
      get(key, (v): v is HostPort | undefined => v === undefined || (typeof v === "object" && v !== null && "port" in v), "host:port"),
  };
}

type Accessors = ReturnType<typeof accessors>;

/** Builds the typed configuration from resolved key values. */
export function buildLiftbridgeConfig(value: ValueOf): LiftbridgeConfig {
  const a = accessors(value);
  return {
    listen: a.optHostPort("listen"),
    host: a.optStr("host"),
    port: a.num("port"),
    dataDir: a.str("data.dir"),
    metadata: { cacheMaxAgeMs: a.num("metadata.cache.max.age") },
    grpc: {
      maxConnections: a.num("grpc.max.connections"),
      connectionIdleTimeoutMs: a.num("grpc.connection.idle.timeout"),
      keepaliveTimeMs: a.num("grpc.keepalive.time"),
      subscriberMaxBufferedBytes: a.num("grpc.subscriber.max.buffered.bytes"),
      subscribersMaxBufferedBytes: a.num("grpc.subscribers.max.buffered.bytes"),
      subscriberStallTimeoutMs: a.num("grpc.subscriber.stall.timeout"),
      publishAsyncMaxBufferedBytes: a.num("grpc.publish.async.max.buffered.bytes"),
    },
    shutdown: { timeoutMs: a.num("shutdown.timeout") },
    logging: {
      level: a.str("logging.level") as LogLevel,
      format: a.str("logging.format") as LogFormat,
      recovery: a.bool("logging.recovery"),
      raft: a.bool("logging.raft"),
      nats: a.bool("logging.nats"),
    },
    batch: { maxMessages: a.num("batch.max.messages"), maxTimeMs: a.num("batch.max.time") },
    tls: {
      key: a.str("tls.key"),
      cert: a.str("tls.cert"),
      clientAuthEnabled: a.bool("tls.client.auth.enabled"),
      clientAuthCa: a.str("tls.client.auth.ca"),
      // Liftbridge read this from tls.client.auth.enabled (a bug); we read the key's own value.
      clientAuthzEnabled: a.bool("tls.client.authz.enabled"),
      clientAuthzModel: a.str("tls.client.authz.model"),
      clientAuthzPolicy: a.str("tls.client.authz.policy"),
    },
    nats: {
      servers: a.list("nats.servers"),
      user: a.str("nats.user"),
      password: a.str("nats.password"),
      tlsCert: a.str("nats.tls.cert"),
      tlsKey: a.str("nats.tls.key"),
      tlsCa: a.str("nats.tls.ca"),
      embedded: a.bool("nats.embedded"),
      embeddedConfig: a.str("nats.embedded.config"),
    },
    streams: buildStreams(a),
    clustering: buildClustering(a),
    activity: {
      streamEnabled: a.bool("activity.stream.enabled"),
      streamPublishTimeoutMs: a.num("activity.stream.publish.timeout"),
      streamPublishAckPolicy: a.str("activity.stream.publish.ack.policy") as ActivityAckPolicy,
    },
    cursors: {
      streamPartitions: a.num("cursors.stream.partitions"),
      streamReplicationFactor: a.num("cursors.stream.replication.factor"),
      streamAutoPauseTimeMs: a.num("cursors.stream.auto.pause.time"),
    },
    groups: { consumerTimeoutMs: a.num("groups.consumer.timeout"), coordinatorTimeoutMs: a.num("groups.coordinator.timeout") },
    telemetry: { enabled: a.bool("telemetry.enabled"), intervalSeconds: a.num("telemetry.interval.seconds") },
  };
}

function buildStreams(a: Accessors): LiftbridgeConfig["streams"] {
  return {
    retentionMaxBytes: a.num("streams.retention.max.bytes"),
    retentionMaxMessages: a.num("streams.retention.max.messages"),
    retentionMaxAgeMs: a.num("streams.retention.max.age"),
    cleanerIntervalMs: a.num("streams.cleaner.interval"),
    segmentMaxBytes: a.num("streams.segment.max.bytes"),
    segmentMaxAgeMs: a.num("streams.segment.max.age"),
    compactEnabled: a.bool("streams.compact.enabled"),
    compactMaxGoroutines: a.num("streams.compact.max.goroutines"),
    autoPauseTimeMs: a.num("streams.auto.pause.time"),
    autoPauseDisableIfSubscribers: a.bool("streams.auto.pause.disable.if.subscribers"),
    concurrencyControl: a.bool("streams.concurrency.control"),
    encryption: a.bool("streams.encryption"),
    syncPolicy: a.str("streams.sync.policy") as SyncPolicy,
    syncIntervalMs: a.num("streams.sync.interval"),
  };
}

function buildClustering(a: Accessors): LiftbridgeConfig["clustering"] {
  return {
    serverId: a.optStr("clustering.server.id"),
    namespace: a.str("clustering.namespace"),
    raftSnapshotRetain: a.num("clustering.raft.snapshot.retain"),
    raftSnapshotThreshold: a.num("clustering.raft.snapshot.threshold"),
    raftCacheSize: a.num("clustering.raft.cache.size"),
    raftBootstrapSeed: a.bool("clustering.raft.bootstrap.seed"),
    raftBootstrapPeers: a.list("clustering.raft.bootstrap.peers"),
    raftMaxQuorumSize: a.num("clustering.raft.max.quorum.size"),
    replicaMaxLagTimeMs: a.num("clustering.replica.max.lag.time"),
    replicaMaxLeaderTimeoutMs: a.num("clustering.replica.max.leader.timeout"),
    replicaMaxIdleWaitMs: a.num("clustering.replica.max.idle.wait"),
    replicaFetchTimeoutMs: a.num("clustering.replica.fetch.timeout"),
    minInsyncReplicas: a.num("clustering.min.insync.replicas"),
    replicationMaxBytes: a.num("clustering.replication.max.bytes"),
  };
}

/** The address to bind the gRPC server to (Liftbridge's GetListenAddress). */
export function listenAddress(config: LiftbridgeConfig): HostPort {
  if (config.listen !== undefined) return config.listen;
  return { host: config.host ?? "0.0.0.0", port: config.port };
}

const UNSPECIFIED_HOSTS = new Set(["", "0.0.0.0", "::"]);

/** The address clients are told to connect to (Liftbridge's GetConnectionAddress). */
export function advertisedAddress(config: LiftbridgeConfig): HostPort {
  if (config.host !== undefined) return { host: config.host, port: config.port };
  // An unspecified bind address cannot be dialled; advertise localhost on the bound port instead.
  if (config.listen !== undefined) {
    return UNSPECIFIED_HOSTS.has(config.listen.host) ? { host: "localhost", port: config.listen.port } : config.listen;
  }
  return { host: "localhost", port: config.port };
}
