// One client run in its own process: `node dist/bench/bench-client.js '<ClientJob JSON>'`.
// Prints exactly one line, the ClientResult as JSON, on stdout; failures go to stderr with exit 1.
import { connect, createInbox } from "nats";
import type { ClientJob, ClientResult, NatsPublishJob } from "./bench-types.js";
import { ackCheckerOf, benchValue, payloadOf } from "./clients/ack-checkers.js";
import { readJetStreamOrdered, readOursGrpc } from "./clients/catch-up-readers.js";
import { runGrpcPublishAsync } from "./clients/grpc-publish-async.js";
import { readOursHttp2 } from "./clients/http2-subscribe-reader.js";
import { publishSync, publishWindowed } from "./clients/nats-publisher.js";

async function runNatsPublish(job: NatsPublishJob): Promise<ClientResult> {
  const nc = await connect({ servers: job.natsUrl, name: `bench-${job.system}-${job.kind}` });
  try {
    const inbox = createInbox();
    const payload = payloadOf(job.system, benchValue(job.valueBytes), inbox);
    const checker = ackCheckerOf(job.system);
    const out = job.kind === "nats-async"
      ? await publishWindowed(nc, job.subject, inbox, payload, job, checker)
      : await publishSync(nc, job.subject, inbox, payload, job, checker);
    return {
      messages: out.acked, seconds: out.seconds, msgsPerSec: out.acked / out.seconds,
      mbPerSec: (out.acked * job.valueBytes) / out.seconds / 1e6, complete: out.complete,
      ...(out.latencyUs !== undefined ? { latencyUs: out.latencyUs } : {}),
      clientCpuSeconds: out.cpuSeconds, notes: `payload ${payload.length} B`,
    };
  } finally {
    await nc.close();
  }
}

function run(job: ClientJob): Promise<ClientResult> {
  switch (job.kind) {
    case "nats-async":
    case "nats-sync":
      return runNatsPublish(job);
    case "grpc-async":
      return runGrpcPublishAsync(job);
    case "grpc-read":
      return readOursGrpc(job);
    case "http2-read":
      return readOursHttp2(job);
    case "js-read":
      return readJetStreamOrdered(job);
  }
}

const arg = process.argv[2];
if (arg === undefined) {
  process.stderr.write("usage: bench-client.js '<ClientJob JSON>'\n");
  process.exit(2);
}
run(JSON.parse(arg) as ClientJob).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`bench client failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
