// The metadata requests between brokers and the metadata entries in the Raft log come from the
// network: their decoders must refuse every malformed input with a typed error, never throw, and
// round-trip what the encoders write.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMetadataEntry, encodeMetadataEntry } from "../../src/core/metadata/metadata-entry.js";
import type { MetadataOp } from "../../src/core/metadata/metadata-op.js";
import { nodeId } from "../../src/core/types.js";
import {
  decodeMetadataPeerReply, decodeMetadataPeerRequest, replySend, requestSend, type MetadataPeerReply, type MetadataPeerRequest,
} from "../../src/core/peers/metadata-peer-protocol.js";

const CREATE: MetadataOp = {
  op: "createStream", name: "s", subject: "s.sub", group: "", replicationFactor: 1, partitions: 2, overrides: { segmentMaxBytes: 1024 },
  creationTimestampNs: "1700000000000000000", replicas: [[nodeId("b1")], [nodeId("b2")]],
};
const OPS: MetadataOp[] = [
  CREATE,
  { op: "deleteStream", name: "s" },
  { op: "pauseStream", name: "s", partitions: [0, 1], resumeAll: true, timestampNs: "5" },
  { op: "resumeStream", name: "s", partitions: [], timestampNs: "6" },
  { op: "setStreamReadonly", name: "s", partitions: [1], readonly: true, timestampNs: "7" },
];

test("metadata entries round-trip every op and refuse what is not one", () => {
  for (const op of OPS) {
    const decoded = decodeMetadataEntry(encodeMetadataEntry({ from: "b1", seq: 42, op }));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value, { from: "b1", seq: 42, op });
  }
  const bad = (value: unknown): string => {
    const d = decodeMetadataEntry(new TextEncoder().encode(JSON.stringify(value)));
    assert.ok(!d.ok, `refused: ${JSON.stringify(value)}`);
    return d.error.message;
  };
  bad({ v: 2, from: "b1", seq: 1, op: CREATE });
  bad({ v: 1, seq: 1, op: CREATE });
  bad({ v: 1, from: "b1", seq: 1, op: { ...CREATE, replicas: [["b1"]] } });
  bad({ v: 1, from: "b1", seq: 1, op: { ...CREATE, partitions: 0, replicas: [] } });
  assert.match(bad({ v: 1, from: "b1", seq: 1, op: { ...CREATE, overrides: { segmentMaxBytes: "big" } } }), /bad override segmentMaxBytes/);
  assert.match(bad({ v: 1, from: "b1", seq: 1, op: { ...CREATE, overrides: { noSuchSetting: 1 } } }), /bad override noSuchSetting/);
  assert.match(bad({ v: 1, from: "b1", seq: 1, op: { op: "dropTable", name: "s" } }), /unknown op/);
  bad({ v: 1, from: "b1", seq: 1, op: { op: "pauseStream", name: "s", partitions: [-1], resumeAll: false, timestampNs: "1" } });
});

test("metadata entry and peer message decoders never throw on arbitrary bytes or JSON", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    assert.equal(decodeMetadataEntry(bytes).ok, false);
    for (const kind of ["propagate", "join", "info", "bootstrap"] as const) decodeMetadataPeerRequest(kind, bytes);
    decodeMetadataPeerReply(bytes);
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    decodeMetadataEntry(bytes);
    for (const kind of ["propagate", "join", "info", "bootstrap"] as const) decodeMetadataPeerRequest(kind, bytes);
    decodeMetadataPeerReply(bytes);
  }), { numRuns: 2000 });
});

test("peer requests and replies round-trip; a request is refused on another kind's subject", () => {
  const requests: MetadataPeerRequest[] = [
    { kind: "propagate", from: "b2", seq: 7, op: CREATE },
    { kind: "join", from: "b4" },
    { kind: "info", id: "b1", host: "127.0.0.1", port: 9292 },
    { kind: "bootstrap", from: "b9" },
  ];
  for (const r of requests) {
    const send = requestSend("liftbridge-default", r, "liftbridge-default.raft.metadata.b2.reply");
    assert.equal(send.subject, `liftbridge-default.raft.metadata.${r.kind}`);
    assert.deepEqual(decodeMetadataPeerRequest(r.kind, send.data), { ok: true, value: r });
    const other = r.kind === "join" ? "bootstrap" : "join";
    assert.equal(decodeMetadataPeerRequest(other, send.data).ok, false, "a replayed request on another subject is refused");
  }
  const replies: MetadataPeerReply[] = [
    { kind: "propagated", seq: 7, index: 12 },
    { kind: "propagateRefused", seq: 7, error: { code: "StreamExists", message: "stream already exists" } },
    { kind: "joined", error: "" },
    { kind: "clusterExists", from: "b1", leader: "b2" },
  ];
  for (const r of replies) assert.deepEqual(decodeMetadataPeerReply(replySend("inbox", r).data), { ok: true, value: r });
  const wrongCode = new TextEncoder().encode(JSON.stringify({ v: 1, kind: "propagateRefused", seq: 1, error: { code: "Bogus", message: "x" } }));
  assert.equal(decodeMetadataPeerReply(wrongCode).ok, false);
  const badPort = new TextEncoder().encode(JSON.stringify({ v: 1, kind: "info", id: "b1", host: "h", port: 70000 }));
  assert.equal(decodeMetadataPeerRequest("info", badPort).ok, false);
});
