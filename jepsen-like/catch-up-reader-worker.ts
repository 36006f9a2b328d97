// A catch-up reader in its own thread, so decoding its records does not delay the calls the
// latency test measures in the main thread (the test measures the broker, not its own loop).
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { subscribeRead } from "./integration-fixture.js";
import { createApiClient } from "./grpc-test-client.js";

const { grpcAddress, stream, count } = workerData as { grpcAddress: string; stream: string; count: number };
const client = createApiClient(grpcAddress);
const started = performance.now();
const r = await subscribeRead(client, { stream, partition: 0, startPosition: "EARLIEST" }, count, 60_000);
client.close();
parentPort?.postMessage({ count: r.messages.length, ms: performance.now() - started });
