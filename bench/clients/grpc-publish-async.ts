// Ours, workload 1 over gRPC: PublishAsync with `window` requests in flight on one call; each
// PublishResponse releases the next request. The request bytes are encoded once.
import { encodeWire, decodeWire } from "../../src/io/wire/api-codec.js";
import type { ClientResult, GrpcPublishJob } from "../bench-types.js";
import { benchValue } from "./ack-checkers.js";
import { createLeanApiClient } from "./grpc-lean-client.js";

const SAMPLE_MASK = 1023;

function checkResponse(data: Buffer, position: number): string | undefined {
  const r = decodeWire("proto.PublishResponse", data);
  if (!r.ok) return r.error.message;
  if (r.value.asyncError !== undefined && r.value.asyncError !== null && r.value.asyncError.code !== 0) return `asyncError ${r.value.asyncError.message}`;
  const offset = r.value.ack?.offset;
  return offset === BigInt(position - 1) ? undefined : `offset ${offset}, expected ${position - 1}`;
}

/** Runs a GrpcPublishJob; rejects on a failed ack, a wrong offset or a broken call. */
export async function runGrpcPublishAsync(job: GrpcPublishJob): Promise<ClientResult> {
  const client = createLeanApiClient(job.grpcAddress);
  const request = encodeWire("proto.PublishRequest", { value: benchValue(job.valueBytes), stream: job.stream, correlationId: "bench", ackPolicy: 0 });
  const call = client.publishAsync();
  let sent = 0;
  let acked = 0;
  let target = job.count;
  const startMs = performance.now();
  const cpu = process.cpuUsage();
  try {
    await new Promise<void>((resolve, reject) => {
      const bound = setTimeout(() => {
        target = sent;
        if (acked === target) resolve();
      }, job.maxSeconds * 1000);
      const fail = (e: Error): void => { clearTimeout(bound); reject(e); };
      call.on("error", fail);
      call.on("data", (data: Buffer) => {
        acked++;
        const bad = (acked & SAMPLE_MASK) === 0 || acked === target ? checkResponse(data, acked) : undefined;
        if (bad !== undefined) return fail(new Error(`response ${acked}: ${bad}`));
        if (sent < target) {
          call.write(request);
          sent++;
        } else if (acked === target) {
          clearTimeout(bound);
          resolve();
        }
      });
      for (; sent < Math.min(job.window, target); sent++) call.write(request);
    });
  } finally {
    call.end();
    call.cancel();
    client.close();
  }
  const seconds = (performance.now() - startMs) / 1000;
  const u = process.cpuUsage(cpu);
  return {
    messages: acked, seconds, msgsPerSec: acked / seconds, mbPerSec: (acked * job.valueBytes) / seconds / 1e6,
    complete: target === job.count, clientCpuSeconds: (u.user + u.system) / 1e6, notes: `last offset ${acked - 1}`,
  };
}
