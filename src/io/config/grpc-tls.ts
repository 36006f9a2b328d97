// The gRPC server's TLS material from `tls.key`, `tls.cert`, `tls.client.auth.enabled` and
// `tls.client.auth.ca` (Liftbridge's keys): read and checked at start-up, so that a missing,
// unreadable or mismatched file is an error naming the key and the file, not a plaintext server.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { err, ok, type Result } from "../../core/errors.js";
import type { LiftbridgeConfig } from "./config-schema.js";

/** PEM bytes for grpc-js's ServerCredentials.createSsl. */
export interface GrpcTlsMaterial {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** CA bundle client certificates must chain to; present exactly when client auth is on. */
  readonly clientCa: Buffer | undefined;
}

type ReadFile = (path: string) => Buffer;

function readPem(key: string, path: string, readFile: ReadFile): Result<Buffer> {
  try {
    return ok(readFile(path));
  } catch (e) {
    return err("InvalidArgument", `${key}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parses with `parse`, turning its exception into an error naming the key and the file. */
function checkPem(key: string, path: string, what: string, parse: () => unknown): Result<null> {
  try {
    parse();
    return ok(null);
  } catch (e) {
    return err("InvalidArgument", `${key}: ${path} does not hold a PEM ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The TLS material the configuration asks for, undefined for plaintext (no `tls.cert`/`tls.key`). */
export function readGrpcTls(tls: LiftbridgeConfig["tls"], readFile: ReadFile): Result<GrpcTlsMaterial | undefined> {
  if (tls.cert === "" && tls.key === "") {
    if (tls.clientAuthEnabled) return err("InvalidArgument", `tls.client.auth.enabled: client authentication needs TLS, but tls.cert and tls.key are not set`);
    if (tls.clientAuthCa !== "") return err("InvalidArgument", `tls.client.auth.ca: set, but TLS is off (tls.cert and tls.key are not set)`);
    return ok(undefined);
  }
  const key = readPem("tls.key", tls.key, readFile);
  if (!key.ok) return key;
  const cert = readPem("tls.cert", tls.cert, readFile);
  if (!cert.ok) return cert;
  const keyChecked = checkPem("tls.key", tls.key, "private key", () => createPrivateKey(key.value));
  if (!keyChecked.ok) return keyChecked;
  let x509: X509Certificate | undefined;
  const certChecked = checkPem("tls.cert", tls.cert, "certificate", () => (x509 = new X509Certificate(cert.value)));
  if (!certChecked.ok) return certChecked;
  if (x509?.checkPrivateKey(createPrivateKey(key.value)) !== true) {
    return err("InvalidArgument", `tls.cert: the certificate in ${tls.cert} does not match the private key in ${tls.key} (tls.key)`);
  }
  const ca = clientCa(tls, readFile);
  return ca.ok ? ok({ key: key.value, cert: cert.value, clientCa: ca.value }) : ca;
}

/** The client-auth CA, required when client auth is on and refused (not ignored) when it is off. */
function clientCa(tls: LiftbridgeConfig["tls"], readFile: ReadFile): Result<Buffer | undefined> {
  if (!tls.clientAuthEnabled) {
    if (tls.clientAuthCa !== "") return err("InvalidArgument", `tls.client.auth.ca: set, but tls.client.auth.enabled is false, so it would be ignored`);
    return ok(undefined);
  }
  if (tls.clientAuthCa === "") return err("InvalidArgument", `tls.client.auth.enabled: needs tls.client.auth.ca, the CA that client certificates must chain to`);
  const ca = readPem("tls.client.auth.ca", tls.clientAuthCa, readFile);
  if (!ca.ok) return ca;
  const checked = checkPem("tls.client.auth.ca", tls.clientAuthCa, "certificate", () => new X509Certificate(ca.value));
  return checked.ok ? ca : checked;
}
