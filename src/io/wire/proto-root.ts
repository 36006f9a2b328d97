// Loads proto/api.proto and proto/internal.proto into one protobufjs Root, once per process. The
// Root is immutable after loading, so sharing it between brokers in one process is safe.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** Finds the repository root: the nearest ancestor of `startDir` that holds proto/api.proto. */
export function findRepoRoot(startDir: string): string {
  let dir = startDir;
  for (;;) {
    if (existsSync(join(dir, "proto", "api.proto"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`proto/api.proto not found above ${startDir}`);
    dir = parent;
  }
}

const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** Absolute path of proto/api.proto (for @grpc/proto-loader: load it with `keepCase: true`). */
export const API_PROTO_PATH: string = join(REPO_ROOT, "proto", "api.proto");

/** Absolute path of proto/internal.proto (package `protocol`, broker-to-broker messages). */
export const INTERNAL_PROTO_PATH: string = join(REPO_ROOT, "proto", "internal.proto");

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const path of [API_PROTO_PATH, INTERNAL_PROTO_PATH]) {
    protobuf.parse(readFileSync(path, "utf8"), root, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

/** Both .proto files, parsed with field names as written (`keepCase`), all types resolved. */
export const protoRoot: protobuf.Root = loadRoot();

/** Looks up a message type by full name (`proto.Message`, `protocol.ReplicationRequest`). */
export function protoType(fullName: string): protobuf.Type {
  return protoRoot.lookupType(fullName);
}

/** Looks up an enum by full name (`proto.AckPolicy`, `proto.Ack.Error`). */
export function protoEnum(fullName: string): protobuf.Enum {
  return protoRoot.lookupEnum(fullName);
}
