// Throw-away X.509 material for TLS tests, made with the openssl command line: a CA, a server
// certificate for 127.0.0.1/localhost signed by it, a client certificate signed by it, and a
// self-signed "rogue" client certificate no CA vouches for.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Paths of the generated PEM files, and their bytes for clients. */
export interface TestCertificates {
  readonly dir: string;
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
  readonly clientKey: string;
  readonly clientCert: string;
  readonly rogueKey: string;
  readonly rogueCert: string;
  /** Reads one of the files above. */
  pem(path: string): Buffer;
  remove(): void;
}

/** The openssl binary's path, or undefined when it is not installed. */
export function opensslPath(): string | undefined {
  for (const candidate of ["/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl"]) {
    try {
      execFileSync(candidate, ["version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // not there: try the next one
    }
  }
  return undefined;
}

function run(openssl: string, args: string[]): void {
  execFileSync(openssl, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Generates the certificates in a fresh temp directory (EC P-256 keys: fast to make). */
export function makeTestCertificates(openssl: string): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "liftbridge-tls-"));
  const p = (name: string): string => join(dir, name);
  const newKey = (name: string): void => run(openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(name)]);
  newKey("ca.key");
  run(openssl, ["req", "-x509", "-new", "-key", p("ca.key"), "-subj", "/CN=liftbridge-test-ca", "-days", "2", "-out", p("ca.pem")]);
  const signed = (name: string, cn: string, ext: string): void => {
    newKey(`${name}.key`);
    run(openssl, ["req", "-new", "-key", p(`${name}.key`), "-subj", `/CN=${cn}`, "-out", p(`${name}.csr`)]);
    writeFileSync(p(`${name}.ext`), ext);
    run(openssl, ["x509", "-req", "-in", p(`${name}.csr`), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
      "-days", "2", "-extfile", p(`${name}.ext`), "-out", p(`${name}.pem`)]);
  };
  signed("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "test-client", "extendedKeyUsage=clientAuth\n");
  newKey("rogue.key");
  run(openssl, ["req", "-x509", "-new", "-key", p("rogue.key"), "-subj", "/CN=rogue-client", "-days", "2",
    "-addext", "extendedKeyUsage=clientAuth", "-out", p("rogue.pem")]);
  return {
    dir, caCert: p("ca.pem"), serverKey: p("server.key"), serverCert: p("server.pem"),
    clientKey: p("client.key"), clientCert: p("client.pem"), rogueKey: p("rogue.key"), rogueCert: p("rogue.pem"),
    pem: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
