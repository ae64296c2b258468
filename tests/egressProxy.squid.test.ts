/**
 * The rendered squid.conf, run for real on 127.0.0.1 and probed. Nothing
 * leaves the machine: probe names resolve to TEST-NET addresses through a
 * hosts_file, and every allowed request is forwarded to a dead loopback
 * parent (never_direct), so "allowed" shows as a failed upstream, never as
 * TCP_DENIED, and "denied" as 403 + TCP_DENIED in access.log.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renderSquidConf } from "../components/egressProxy";
import { findTool, missingTools, run } from "./support/tools";

const skip = missingTools("squid behaviour", ["squid", "curl"]);

const ALLOW = [".anthropic.com", ".openai.com", ".voyageai.com"];
const HOSTS: Record<string, string> = {
  "api.anthropic.com": "192.0.2.10",
  "anthropic.com": "192.0.2.11",
  "api.openai.com": "192.0.2.12",
  "api.voyageai.com": "192.0.2.13",
  "example.com": "192.0.2.20",
  "evilanthropic.com": "192.0.2.21",
  "api.anthropic.com.evil.io": "192.0.2.22",
  "anthropic.com.evil.io": "192.0.2.23",
  "metadata.google.internal": "169.254.169.254",
  "openclaw-litellm": "192.0.2.40",
  "openclaw-docker-proxy": "192.0.2.41",
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe("EgressProxy squid.conf", { skip }, () => {
  let dir = "";
  let port = 0;
  let squid: ChildProcess | undefined;
  let conf = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "squid-"));
    port = await freePort();
    const deadPort = await freePort();
    conf = renderSquidConf({
      allowDomains: ALLOW,
      clientSubnets: ["127.0.0.0/8"],
      internalDestinations: [{ host: "openclaw-litellm", port: 4000 }],
      listen: `127.0.0.1:${port}`,
    });
    writeFileSync(join(dir, "hosts"), Object.entries(HOSTS).map(([name, ip]) => `${ip} ${name}`).join("\n") + "\n");
    const testOnly = [
      `hosts_file ${join(dir, "hosts")}`,
      `cache_peer 127.0.0.1 parent ${deadPort} 0 no-query no-digest no-netdb-exchange`,
      "never_direct allow all",
      "dns_nameservers 127.0.0.1",
      "dns_timeout 2 seconds",
      "connect_timeout 2 seconds",
      `pid_filename ${join(dir, "squid.pid")}`,
      `access_log stdio:${join(dir, "access.log")}`,
      `cache_log ${join(dir, "cache.log")}`,
      `coredump_dir ${dir}`,
      "shutdown_lifetime 0 seconds",
    ];
    writeFileSync(join(dir, "squid.conf"), conf + testOnly.join("\n") + "\n");
    chownSync(dir, 13, 13);
    writeFileSync(join(dir, "access.log"), "");
    chownSync(join(dir, "access.log"), 13, 13);

    const parse = run(findTool("squid")!, ["-k", "parse", "-f", join(dir, "squid.conf")]);
    assert.equal(parse.status, 0, parse.stderr);
    squid = spawn(findTool("squid")!, ["-N", "-f", join(dir, "squid.conf")], { stdio: "ignore" });
    for (let i = 0; i < 50; i++) {
      const probe = run(findTool("curl")!, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${port}`, "http://example.com/"]);
      if (probe.stdout === "403") return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`squid did not come up: ${readFileSync(join(dir, "cache.log"), "utf8")}`);
  });

  after(() => {
    squid?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (target: string) => run(findTool("curl")!, ["-s", "-o", "/dev/null", "--max-time", "10", "-w", "%{http_connect}", "-x", `http://127.0.0.1:${port}`, target]).stdout;
  const get = (url: string) => run(findTool("curl")!, ["-s", "-o", "/dev/null", "--max-time", "10", "-w", "%{http_code}", "-x", `http://127.0.0.1:${port}`, url]).stdout;

  test("the rendered file parses with no ERROR or WARNING", () => {
    const file = join(dir, "rendered.conf");
    writeFileSync(file, conf);
    const parse = run(findTool("squid")!, ["-k", "parse", "-f", file]);
    assert.equal(parse.status, 0);
    assert.doesNotMatch(parse.stderr + parse.stdout, /ERROR|WARNING|FATAL/);
  });

  for (const host of ["api.anthropic.com", "anthropic.com", "api.openai.com", "api.voyageai.com"]) {
    test(`allows CONNECT ${host}:443`, () => {
      const code = connect(`https://${host}/`);
      assert.notEqual(code, "403", `${host} was denied`);
      assert.match(code, /^(000|5\d\d)$/, "allowed CONNECT reaches the (dead) parent");
    });
  }

  const denied: [string, string][] = [
    ["unlisted domain", "https://example.com/"],
    ["prefix trick", "https://evilanthropic.com/"],
    ["suffix trick", "https://api.anthropic.com.evil.io/"],
    ["suffix trick, bare", "https://anthropic.com.evil.io/"],
    ["IPv4 literal", "https://192.0.2.20/"],
    ["IPv4 literal whose name is allowlisted", "https://192.0.2.10/"],
    ["IPv6 literal", "https://[2001:db8::10]/"],
    ["cloud metadata address", "https://169.254.169.254/"],
    ["cloud metadata name", "https://metadata.google.internal/"],
    ["localhost", "https://localhost/"],
    ["loopback literal", "https://127.0.0.1/"],
    ["port 8443 on an allowlisted domain", "https://api.anthropic.com:8443/"],
    ["port 22 on an allowlisted domain", "https://api.anthropic.com:22/"],
    ["CONNECT to the internal destination's name on another port", "https://openclaw-litellm:4001/"],
    ["CONNECT to another internal container", "https://openclaw-docker-proxy:2375/"],
    ["CONNECT to the internal destination's address", "https://192.0.2.40:4000/"],
  ];
  for (const [what, target] of denied) {
    test(`denies ${what} (${target})`, () => {
      assert.equal(connect(target), "403");
    });
  }

  test("denies a plain-HTTP GET to an allowlisted domain", () => {
    assert.equal(get("http://api.anthropic.com/"), "403");
  });

  test("allows a CONNECT tunnel to exactly the internal destination (OpenClaw's proxy client tunnels http:// URLs)", () => {
    assert.notEqual(connect("https://openclaw-litellm:4000/"), "403");
  });

  test("allows plain HTTP to exactly the internal destination, nothing else internal", () => {
    assert.notEqual(get("http://openclaw-litellm:4000/health/liveliness"), "403");
    assert.equal(get("http://openclaw-litellm:4001/"), "403");
    assert.equal(get("http://openclaw-docker-proxy:2375/containers/json"), "403");
    assert.equal(get("http://192.0.2.40:4000/"), "403");
  });

  test("access.log records every denial as TCP_DENIED/403", () => {
    const log = readFileSync(join(dir, "access.log"), "utf8");
    assert.match(log, /TCP_DENIED\/403 .*CONNECT example\.com:443/);
    assert.match(log, /TCP_DENIED\/403 .*CONNECT 192\.0\.2\.10:443/);
    assert.doesNotMatch(log, /TCP_DENIED\/403 .*CONNECT api\.anthropic\.com:443/);
  });
});

describe("renderSquidConf refuses unsafe input", () => {
  const base = { allowDomains: [".anthropic.com"], clientSubnets: ["172.30.10.0/24"], internalDestinations: [] };
  test("empty allowlist", () => assert.throws(() => renderSquidConf({ ...base, allowDomains: [] }), /allowlist is empty/));
  test("no client subnet", () => assert.throws(() => renderSquidConf({ ...base, clientSubnets: [] }), /no client subnet/));
  test("a /0 client subnet", () => assert.throws(() => renderSquidConf({ ...base, clientSubnets: ["0.0.0.0/0"] }), /every address/));
  test("an entry covered by another", () => assert.throws(() => renderSquidConf({ ...base, allowDomains: [".anthropic.com", "api.anthropic.com"] }), /covered/));
  test("clients are exactly the configured subnets", () => {
    assert.match(renderSquidConf(base), /^acl localnet src 172\.30\.10\.0\/24$/m);
  });
});
