#!/usr/bin/env node
// The `liftbridge` command: configuration from flags, environment and file; then the server; then
// SIGINT/SIGTERM for a graceful stop (a second signal forces exit).
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
  const server = await startServer(config, logger, { metadataRecovery: loaded.value.metadataRecovery });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    // The stop is bounded: whatever still hangs after shutdown.timeout is abandoned.
    setTimeout(() => {
      logger.error({ signal, timeoutMs: config.shutdown.timeoutMs }, "graceful stop took too long (shutdown.timeout): exiting now");
      process.exit(1);
    }, config.shutdown.timeoutMs).unref();
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: String(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
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
