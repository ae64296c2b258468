/**
 * A certificate authority and one server certificate made for a test run, so
 * a stand-in HTTPS server (a model provider, an OTLP backend) can answer for
 * public names while the client trusts only this run's CA.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./tools";

export interface TestTls {
  /** Holds the keys: the caller removes it when done. */
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

/** A CA named `caName` and a server certificate for `names` (the first is its CN), in a new temp dir. */
export function makeTestTls(o: { dirPrefix: string; caName: string; names: string[] }): TestTls {
  const dir = mkdtempSync(join(tmpdir(), o.dirPrefix));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const r = run("openssl", args);
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${o.caName}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-keyout", f("ca.key"), "-out", f("ca.crt"));
  openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${o.names[0]}`, "-keyout", f("key.pem"), "-out", f("csr.pem"));
  writeFileSync(f("ext.cnf"), `subjectAltName=${o.names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  openssl("x509", "-req", "-in", f("csr.pem"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("ext.cnf"), "-out", f("cert.pem"));
  return { dir, ca: readFileSync(f("ca.crt"), "utf8"), cert: readFileSync(f("cert.pem"), "utf8"), key: readFileSync(f("key.pem"), "utf8") };
}
