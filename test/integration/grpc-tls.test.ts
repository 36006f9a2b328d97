// gRPC TLS and mutual TLS on the real broker process, with certificates the test makes: a TLS
// client works, a plaintext client is refused; with client auth, only a client whose certificate
// chains to tls.client.auth.ca gets in; bad TLS files stop start-up with the key and file named.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChannelCredentials, Client, ServiceError } from "@grpc/grpc-js";
import { credentials, loadPackageDefinition, Metadata } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { startBrokerProcess } from "../../jepsen-like/broker-process.js";
import { PROTO_LOADER_OPTIONS } from "../../jepsen-like/grpc-test-client.js";
import { makeTestCertificates, opensslPath, type TestCertificates } from "../../jepsen-like/test-certificates.js";
import { API_PROTO_PATH } from "../../src/io/wire/proto-root.js";

const OPENSSL = opensslPath();
const SKIP = OPENSSL === undefined ? "openssl is not installed; it makes this suite's certificates" : false;
const GRPC_UNAVAILABLE = 14;

type ApiConstructor = new (address: string, creds: ChannelCredentials, options?: object) => Client;
/** The server certificate names 127.0.0.1 and localhost; a host name keeps Node from warning about an IP as SNI. */
const TLS_CHANNEL_OPTIONS = { "grpc.ssl_target_name_override": "localhost" };
const Api = (loadPackageDefinition(loadSync(API_PROTO_PATH, PROTO_LOADER_OPTIONS)) as unknown as { proto: { API: ApiConstructor } }).proto.API;

/** Calls a unary method with a 3 s deadline; the response or the ServiceError. */
function call(client: Client, method: string, request: object): Promise<{ ok: true; response: Record<string, unknown> } | { ok: false; error: ServiceError }> {
  const fn = (client as unknown as Record<string, (r: object, m: Metadata, o: object, cb: (e: ServiceError | null, r: unknown) => void) => void>)[method]!;
  return new Promise((resolve) => {
    fn.call(client, request, new Metadata(), { deadline: Date.now() + 3000 }, (error, response) =>
      resolve(error ? { ok: false, error } : { ok: true, response: response as Record<string, unknown> }));
  });
}

/** Creates a stream, publishes with AckPolicy LEADER and reads the metadata: the client really works. */
async function assertWorks(client: Client, stream: string): Promise<void> {
  const created = await call(client, "CreateStream", { subject: `${stream}.subj`, name: stream });
  assert.ok(created.ok, created.ok ? "" : created.error.message);
  const published = await call(client, "Publish", { stream, value: Buffer.from("over TLS"), ackPolicy: "LEADER" });
  assert.ok(published.ok, published.ok ? "" : published.error.message);
  assert.equal((published.response["ack"] as { offset: string }).offset, "0");
  const meta = await call(client, "FetchPartitionMetadata", { stream, partition: 0 });
  assert.ok(meta.ok);
  assert.equal((meta.response["metadata"] as { highWatermark: string }).highWatermark, "0");
}

/** The call fails before reaching the API, as a refused TLS handshake does (UNAVAILABLE). */
async function assertRefused(client: Client, what: string): Promise<void> {
  const r = await call(client, "FetchMetadata", {});
  assert.ok(!r.ok, `${what} should be refused`);
  assert.equal(r.error.code, GRPC_UNAVAILABLE, `${what}: ${r.error.message}`);
}

function tlsYaml(certs: TestCertificates, clientAuth: boolean): string {
  const base = `tls:\n  key: ${certs.serverKey}\n  cert: ${certs.serverCert}\n`;
  return clientAuth ? `${base}  client.auth.enabled: true\n  client.auth.ca: ${certs.caCert}\n` : base;
}

describe("gRPC TLS on the real process", { skip: SKIP, timeout: 60_000 }, () => {
  let certs: TestCertificates;
  before(() => { certs = makeTestCertificates(OPENSSL!); });
  after(() => certs.remove());

  test("TLS: a TLS client works, a plaintext client is refused", async () => {
    const broker = await startBrokerProcess({ configYaml: tlsYaml(certs, false) });
    const clients: Client[] = [];
    try {
      assert.match(broker.output(), /"tls":"on"/);
      const tls = new Api(broker.grpcAddress, credentials.createSsl(certs.pem(certs.caCert)), TLS_CHANNEL_OPTIONS);
      const plain = new Api(broker.grpcAddress, credentials.createInsecure());
      clients.push(tls, plain);
      await assertWorks(tls, "tls-stream");
      await assertRefused(plain, "a plaintext client");
    } finally {
      for (const c of clients) c.close();
      await broker.stop();
    }
  });

  test("mutual TLS: no certificate and a certificate outside the CA are refused; a CA-signed one works", async () => {
    const broker = await startBrokerProcess({ configYaml: tlsYaml(certs, true) });
    const clients: Client[] = [];
    const client = (creds: ChannelCredentials): Client => {
      const c = new Api(broker.grpcAddress, creds, TLS_CHANNEL_OPTIONS);
      clients.push(c);
      return c;
    };
    try {
      assert.match(broker.output(), /"tls":"mutual"/);
      const ca = certs.pem(certs.caCert);
      await assertRefused(client(credentials.createSsl(ca)), "a client without a certificate");
      await assertRefused(client(credentials.createSsl(ca, certs.pem(certs.rogueKey), certs.pem(certs.rogueCert))), "a self-signed client certificate");
      await assertRefused(client(credentials.createInsecure()), "a plaintext client");
      await assertWorks(client(credentials.createSsl(ca, certs.pem(certs.clientKey), certs.pem(certs.clientCert))), "mtls-stream");
    } finally {
      for (const c of clients) c.close();
      await broker.stop();
    }
  });

  test("missing, unreadable or mismatched TLS files stop start-up, naming the key and the file", async () => {
    const missing = join(certs.dir, "no-such.key");
    const garbage = join(certs.dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    const cases: [string, RegExp][] = [
      [`tls:\n  key: ${missing}\n  cert: ${certs.serverCert}\n`, new RegExp(`tls\\.key: cannot read ${missing}`)],
      [`tls:\n  key: ${certs.serverKey}\n  cert: ${garbage}\n`, new RegExp(`tls\\.cert: ${garbage} does not hold a PEM certificate`)],
      [`tls:\n  key: ${certs.clientKey}\n  cert: ${certs.serverCert}\n`, /tls\.cert: the certificate in .* does not match the private key/],
      [tlsYaml(certs, false) + `  client.auth.enabled: true\n  client.auth.ca: ${missing}\n`, new RegExp(`tls\\.client\\.auth\\.ca: cannot read ${missing}`)],
      [tlsYaml(certs, false) + `  client.auth.enabled: true\n`, /tls\.client\.auth\.enabled: needs tls\.client\.auth\.ca/],
      [`tls:\n  client.auth.enabled: true\n  client.auth.ca: ${certs.caCert}\n`, /tls\.client\.auth\.enabled: client authentication needs TLS/],
    ];
    for (const [yaml, expected] of cases) {
      await assert.rejects(startBrokerProcess({ configYaml: yaml, startTimeoutMs: 10_000 }), (e: Error) => {
        assert.match(e.message, /broker exited \(code 1/);
        assert.match(e.message, expected);
        return true;
      });
    }
  });
});

describe("refused settings on the real process", { timeout: 30_000 }, () => {
  test("a non-default value of an unimplemented feature stops start-up, naming the key", async () => {
    const cases: [string, RegExp][] = [
      ["streams.encryption: true\n", /streams\.encryption: not supported yet/],
      ["streams:\n  auto.pause.time: 1m\n", /streams\.auto\.pause\.time: not supported yet/],
      ["clustering.min.insync.replicas: 2\n", /clustering\.min\.insync\.replicas: not supported yet/],
    ];
    for (const [yaml, expected] of cases) {
      await assert.rejects(startBrokerProcess({ configYaml: yaml, startTimeoutMs: 10_000 }), (e: Error) => {
        assert.match(e.message, /broker exited \(code 2/);
        assert.match(e.message, expected);
        return true;
      });
    }
  });

  test("a config file spelling out every default starts", async () => {
    const yaml = "streams.encryption: false\nstreams.auto.pause.time: 0\nbatch.max.time: 0\nclustering.min.insync.replicas: 1\n" +
      "tls.client.auth.enabled: false\nactivity.stream.enabled: false\ncursors.stream.partitions: 0\n";
    const broker = await startBrokerProcess({ configYaml: yaml });
    assert.equal(await broker.stop(), 0);
  });
});
