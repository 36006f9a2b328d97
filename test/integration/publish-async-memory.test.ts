// PublishAsync memory on the real process (issue 10): a client that sends requests but never reads
// its acks makes the broker queue them only up to grpc.publish.async.max.buffered.bytes; past it
// the stream is reset with ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED to gRPC clients), and the broker
// goes on serving everyone else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as http2Connect, constants as http2Constants } from "node:http2";
import { startBrokerProcess } from "../../jepsen-like/broker-process.js";
import { createApiClient } from "../../jepsen-like/grpc-test-client.js";
import { waitForHighWatermark, within } from "../../jepsen-like/integration-fixture.js";
import { grpcFrame, strField } from "../../jepsen-like/raw-grpc.js";

/** A gRPC-framed PublishRequest{value, stream, correlationId} (ackPolicy LEADER, the default). */
function publishFrame(stream: string, correlationId: string): Uint8Array {
  return grpcFrame(new Uint8Array([...strField(2, "v"), ...strField(3, stream), ...strField(7, correlationId)]));
}

test("PublishAsync whose client never reads its acks is reset past grpc.publish.async.max.buffered.bytes", { timeout: 60_000 }, async () => {
  const broker = await startBrokerProcess({ configYaml: "grpc.publish.async.max.buffered.bytes: 262144\n" });
  const client = createApiClient(broker.grpcAddress);
  const session = http2Connect(`http://${broker.grpcAddress}`);
  session.on("error", () => undefined);
  try {
    await client.createStream({ subject: "pam.s", name: "pam" });
    const req = session.request({
      [http2Constants.HTTP2_HEADER_METHOD]: "POST", [http2Constants.HTTP2_HEADER_PATH]: "/proto.API/PublishAsync",
      "content-type": "application/grpc", te: "trailers",
    });
    req.on("error", () => undefined);
    req.pause(); // acks are never read
    const closed = new Promise<number>((resolve) => req.on("close", () => resolve(req.rstCode)));
    const padding = "c".repeat(4000); // correlation ids are at most 4096 bytes (limits at the door)
    for (let i = 0; i < 400; i++) req.write(publishFrame("pam", `${i}-${padding}`));
    const rstCode = await within(closed, 20_000, "the PublishAsync stream is reset");
    assert.equal(rstCode, http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.match(broker.output(), /ending a PublishAsync whose client does not read its acks/);
    // Everyone else is still served.
    const r = await client.publish({ stream: "pam", value: Buffer.from("after"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
    await waitForHighWatermark(client, "pam", 0, Number(r.ack?.offset), 5000);
  } finally {
    session.destroy();
    client.close();
    await broker.stop();
  }
});
