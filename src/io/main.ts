#!/usr/bin/env node
// The `liftbridge` command: configuration from flags, environment and file; then the server; then
// SIGINT/SIGTERM for a graceful stop (a second signal forces exit); a broker the core says must not
// go on (Broker.view.fatal) stops the same way and exits with code 2.
import { readFileSync } from "node:fs";
import { loadConfig } from "./config/load-config.js";
import { createLogger } from "./logger.js";
import { startServer } from "./server.js";

async function main(): Promise<number> {
  const loaded = loadConfig(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  if (!loaded.ok) {
    process.stderr.write(`liftbridge: ${loaded.error.message}\n`);
    return 2;
  }
  if (loaded.value.kind !== "run") {
    process.stdout.write(`${loaded.value.output}\n`);
    return 0;
  }
  const config = loaded.value.config;
  const logger = createLogger({ level: config.logging.level, format: config.logging.format, name: "liftbridge" });
  // Signal handlers go in before start-up: a SIGTERM that arrives while the server starts (after
  // its "started" line, before startServer returns) must stop it gracefully, not kill it outright.
  const running: { server?: Awaited<ReturnType<typeof startServer>> } = {};
  let requested: string | undefined;
  let stopping = false;
  let exitCode = 0;
  const stop = (signal: string): void => {
    const server = running.server;
    if (stopping || (server === undefined && requested !== undefined)) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    if (server === undefined) {
      requested = signal; // stopped as soon as start-up finishes
      return;
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    // The stop is bounded: whatever still hangs after shutdown.timeout is abandoned.
    setTimeout(() => {
      logger.error({ signal, timeoutMs: config.shutdown.timeoutMs }, "graceful stop took too long (shutdown.timeout): exiting now");
      process.exit(1);
    }, config.shutdown.timeoutMs).unref();
    server.close().then(
      () => process.exit(exitCode),
      (e: unknown) => {
        logger.error({ err: String(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // The core gave up (a second bootstrap seed, a join nobody answered): stop gracefully, exit 2.
  const onFatal = (reason: string): void => {
    process.stderr.write(`liftbridge: ${reason}\n`);
    exitCode = 2;
    if (stopping) return;
    stop("fatal");
  };
  running.server = await startServer(config, logger, { metadataRecovery: loaded.value.metadataRecovery, onFatal });
  if (requested !== undefined) stop(requested);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`liftbridge: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
