// Starts a whole broker process in-process: embedded NATS (if asked), the NATS connection, the
// driver over the data directory, and the gRPC API; close() stops them in reverse order.
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { connect, type NatsConnection } from "nats";
import type { ApiRequest, SubscribeRequest } from "../core/broker/api-types.js";
import type { Result } from "../core/errors.js";
import { BrokerDriver } from "./broker-driver.js";
import { brokerConfigFrom } from "./broker-config-from.js";
import { plantedBugsFromEnv } from "./planted-bugs-from-env.js";
import type { BrokerService, SubscriptionSink } from "./broker-service.js";
import { listenAddress, type LiftbridgeConfig } from "./config/config-schema.js";
import { readGrpcTls, type GrpcTlsMaterial } from "./config/grpc-tls.js";
import { DEFAULT_EMBEDDED_NATS_CONFIG, loadEmbeddedNatsConfig } from "./embedded-nats/config.js";
import { startEmbeddedNats, type EmbeddedNats } from "./embedded-nats/server.js";
import { startGrpcServer } from "./grpc/grpc-server.js";
import type { Logger } from "./logger.js";
import { NodeDisk } from "./node-disk.js";
import { loadServerId, storeServerId } from "./server-id.js";
import { bestCrc32c } from "./native-crc32c.js";
import type { NatsDataPath } from "./nats-data-path/nats-data-path.js";
import { NatsJsDataPath } from "./nats-data-path/nats-js-data-path.js";
import { ProtocolDataPath } from "./nats-data-path/protocol-data-path.js";

/** A running broker process. */
export interface RunningServer {
  readonly serverId: string;
  readonly grpcPort: number;
  readonly natsUrl: string;
  readonly driver: BrokerDriver;
  /**
   * Graceful stop: intake stops at once (stream subjects unsubscribed, new requests refused with
   * UNAVAILABLE), what was taken is persisted and answered, streaming calls end with UNAVAILABLE,
   * logs are closed and synced, connections closed.
   */
  close(): Promise<void>;
}

async function startNats(config: LiftbridgeConfig, logger: Logger): Promise<{ embedded?: EmbeddedNats; servers: string[] }> {
  if (!config.nats.embedded && config.nats.embeddedConfig === "") return { servers: [...config.nats.servers] };
  let natsConfig = DEFAULT_EMBEDDED_NATS_CONFIG;
  if (config.nats.embeddedConfig !== "") {
    const loaded = await loadEmbeddedNatsConfig(config.nats.embeddedConfig);
    if (!loaded.ok) throw new Error(`nats.embedded.config: ${loaded.error.message}`);
    natsConfig = loaded.value;
    for (const w of natsConfig.warnings) logger.warn({ file: config.nats.embeddedConfig }, w);
  }
  const embedded = await startEmbeddedNats({
    host: natsConfig.host, port: natsConfig.port, maxPayload: natsConfig.maxPayload, maxControlLine: natsConfig.maxControlLine,
    maxConnections: natsConfig.maxConnections, connectTimeoutMs: natsConfig.connectTimeoutMs,
    logger: (level, msg, fields) => logger[level]({ ...fields, component: "embedded-nats" }, msg),
  });
  return { embedded, servers: [`nats://127.0.0.1:${embedded.port}`] };
}

const RECONNECT_TIME_WAIT_MS = 250;
/** How long unary calls still running after the driver stopped may take before they are cancelled. */
const GRPC_CLOSE_GRACE_MS = 2000;

/** nats.js's TLS options from `nats.tls.*` (none when unset: nats.js still upgrades if the server asks). */
function natsTls(config: LiftbridgeConfig): { tls?: { certFile?: string; keyFile?: string; caFile?: string } } {
  const { tlsCert, tlsKey, tlsCa } = config.nats;
  if (tlsCert === "" && tlsCa === "") return {};
  return { tls: { ...(tlsCert !== "" ? { certFile: tlsCert, keyFile: tlsKey } : {}), ...(tlsCa !== "" ? { caFile: tlsCa } : {}) } };
}

/**
 * The data path: our own protocol client over plain TCP, or nats.js's connection where TLS is
 * configured or the server requires it (docs/decisions.md).
 */
async function openDataPath(config: LiftbridgeConfig, servers: readonly string[], name: string, nc: NatsConnection, logger: Logger): Promise<NatsDataPath> {
  if (natsTls(config).tls !== undefined) return new NatsJsDataPath(nc, logger);
  const opened = await ProtocolDataPath.connect({
    servers, name, logger, reconnectTimeWaitMs: RECONNECT_TIME_WAIT_MS,
    ...(config.nats.user !== "" ? { user: config.nats.user, pass: config.nats.password } : {}),
  });
  if (opened.ok) return opened.value;
  if (opened.reason === "tlsRequired") {
    logger.info({ reason: opened.message }, "NATS data path over nats.js (TLS)");
    return new NatsJsDataPath(nc, logger);
  }
  throw new Error(`NATS data connection: ${opened.message}`);
}

/** Command-line choices that are not configuration keys. */
export interface StartOptions {
  /** --metadata-recovery (docs/decisions.md, "Metadata at startup"). */
  readonly metadataRecovery?: boolean;
  /** The core says the broker must not go on (e.g. a second bootstrap seed): the caller stops the process. */
  readonly onFatal?: (reason: string) => void;
}

/** Starts everything the configuration asks for. */
export async function startServer(config: LiftbridgeConfig, logger: Logger, options: StartOptions = {}): Promise<RunningServer> {
  // TLS files first: a bad one stops start-up before anything is bound or written.
  const tls = readGrpcTls(config.tls, (path) => readFileSync(path));
  if (!tls.ok) throw new Error(tls.error.message);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const idDisk = new NodeDisk(dataDir);
  const { id: serverId, stored: idStored } = loadServerId(idDisk, config.clustering.serverId, dataDir);
  const nats = await startNats(config, logger);
  const name = `LIFT.${config.clustering.namespace}.${serverId}`;
  const nc: NatsConnection = await connect({
    servers: nats.servers, name,
    maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
    ...(config.nats.user !== "" ? { user: config.nats.user, pass: config.nats.password } : {}),
    ...natsTls(config),
  });
  const dataPath = await openDataPath(config, nats.servers, `${name}.data`, nc, logger);
  // The gRPC port is bound first (it may be ephemeral) so FetchMetadata advertises the real one.
  const proxy = new DeferredService(serverId, config.clustering.namespace, nc);
  const listen = listenAddress(config);
  const grpc = await startGrpcServer(proxy, { host: listen.host, port: listen.port, limits: config.grpc, logger, ...(tls.value !== undefined ? { tls: tls.value } : {}) });
  const crc = bestCrc32c();
  const plantedBugs = plantedBugsFromEnv(process.env);
  if (plantedBugs !== undefined) logger.warn({ plantedBugs }, "planted bugs are switched on (test-only)");
  const brokerConfig = {
    ...brokerConfigFrom(config, serverId, grpc.port), metadataRecovery: options.metadataRecovery === true,
    ...(plantedBugs !== undefined ? { plantedBugs } : {}),
    // The NATS server's max_payload: larger API publishes are refused at once instead of dropped.
    ...(nc.info !== undefined ? { natsMaxPayload: nc.info.max_payload } : {}),
  };
  const driver = new BrokerDriver({ dataDir, config: brokerConfig, nats: nc, dataPath, logger, crc32c: crc.crc32c, ...(options.onFatal !== undefined ? { onFatal: options.onFatal } : {}) });
  // Only now: a broker that refused its data directory (a different id in its metadata) stored nothing.
  if (!idStored) storeServerId(idDisk, serverId);
  proxy.target = driver;
  logger.info({ serverId, grpc: `${listen.host}:${grpc.port}`, nats: nats.servers.join(","), dataDir, syncPolicy: config.streams.syncPolicy, namespace: config.clustering.namespace, crc32c: crc.native ? "native" : "pure JS", natsDataPath: dataPath.kind, tls: tlsMode(tls.value) }, "Liftbridge-TS started");
  return {
    serverId, grpcPort: grpc.port, natsUrl: nats.servers[0] ?? "", driver,
    close: async () => {
      driver.stopIntake();
      grpc.stopServing();
      await driver.shutdown();
      await grpc.close(GRPC_CLOSE_GRACE_MS);
      await dataPath.close();
      await nc.drain().catch(() => undefined);
      await nats.embedded?.close();
      logger.info({ serverId }, "Liftbridge-TS stopped");
    },
  };
}

/** How the gRPC port is secured, for the start-up line. */
function tlsMode(tls: GrpcTlsMaterial | undefined): "off" | "on" | "mutual" {
  if (tls === undefined) return "off";
  return tls.clientCa === undefined ? "on" : "mutual";
}

/** Answers "starting" until the driver exists (the gRPC port is bound before it is created). */
class DeferredService implements BrokerService {
  target: BrokerService | undefined;
  constructor(readonly serverId: string, readonly namespace: string, readonly nats: NatsConnection) {}

  request(request: ApiRequest): ReturnType<BrokerService["request"]> {
    return this.target?.request(request) ?? Promise.resolve(starting());
  }

  subscribe(request: SubscribeRequest, sink: SubscriptionSink): ReturnType<BrokerService["subscribe"]> {
    return this.target?.subscribe(request, sink) ?? Promise.resolve(starting());
  }
}

function starting(): Result<never> {
  return { ok: false, error: { code: "Internal", message: "Server is starting" } };
}
