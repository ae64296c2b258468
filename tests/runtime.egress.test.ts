/**
 * Proof 2 on a real VPS: the Squid container from the render, on its two
 * networks. A client on the internal network reaches an allowlisted name only
 * through the proxy (tunnelled to a stand-in upstream on the egress network);
 * everything the egress matrix denies is denied, and the stand-ins prove it by
 * what they saw (no connection), not by what the proxy answered. An allowlisted
 * name whose DNS answer points at loopback, link-local or a private address
 * (DNS rebinding into the deployment's own networks) is refused; the internal
 * network has no other way out.
 *
 * "The internet" is the egress network: a stand-in DNS server (the VPS's
 * resolver) and stand-in upstreams at public-looking addresses (198.18.0.0/15,
 * benchmarking space: not private, never routed here).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inspectContainer } from "./support/apply";
import { RECIPES } from "./support/images";
import { Runtime, runtimeSkip, startRuntime } from "./support/runtime";

const skip = runtimeSkip("runtime: egress");
const NODE_IMAGE = RECIPES.socketProxy.tag;
const EGRESS_SUBNET = "198.18.12.0/24";
const UPSTREAM = "198.18.12.10";
const DECOY = "198.18.12.20";
const DNS = "198.18.12.53";
const VICTIM = "172.30.10.50";
const RECORDS = {
  "api.anthropic.com": UPSTREAM,
  "example.com": DECOY,
  "evilanthropic.com": DECOY,
  "metadata.google.internal": "169.254.169.254",
  "loop.anthropic.com": "127.0.0.1",
  "linklocal.anthropic.com": "169.254.169.254",
  "private.anthropic.com": VICTIM,
  "cgnat.anthropic.com": "100.64.1.1",
};

describe("runtime: egress proxy on a real VPS", { skip, timeout: 600_000 }, () => {
  let rt: Runtime;
  let squidEgressIp = "";

  const standin = (name: string, network: string, ip: string, ...args: string[]) =>
    rt.host.sshOk(`docker run -d --name ${name} --network ${network} --ip ${ip} -v /opt/standins:/opt/standins:ro ${NODE_IMAGE} node /opt/standins/standins.js ${args.map((a) => `'${a}'`).join(" ")}`);
  /** Runs a probe in a fresh container on the internal network only. */
  const probe = async (...args: string[]): Promise<any> =>
    JSON.parse(await rt.host.sshOk(`docker run --rm --network openclaw-net -v /opt/standins:/opt/standins:ro ${NODE_IMAGE} node /opt/standins/standins.js ${args.join(" ")}`));
  const hits = async (name: string) => (await rt.host.sshOk(`docker logs ${name} 2>&1`)).split("\n").filter((l) => l.startsWith("hit "));

  before(async () => {
    rt = await startRuntime({ images: ["egressProxy", "socketProxy"], config: { networks: { internal: "172.30.10.0/24", proxy: "172.30.11.0/24", egress: EGRESS_SUBNET } } });
    console.log(`runtime egress: VPS ${rt.timings.boot.toFixed(1)} s, load ${JSON.stringify(rt.timings.load)}`);
    await rt.host.sshOk("install -D -m 0444 /dev/stdin /opt/standins/standins.js", { input: readFileSync(join(__dirname, "support/standins.js"), "utf8") });
    for (const n of ["openclaw-net", "egress-net"]) await rt.applier.createNetwork(n);
    await standin("dns", "egress-net", DNS, "dns", JSON.stringify(RECORDS));
    await standin("upstream", "egress-net", UPSTREAM, "tcp", "upstream", "443", "80");
    await standin("decoy", "egress-net", DECOY, "tcp", "decoy", "443");
    await standin("victim", "openclaw-net", VICTIM, "tcp", "victim", "443");
    // The VPS's resolver is the stand-in DNS: Docker's embedded DNS forwards to it.
    await rt.host.sshOk(`echo 'nameserver ${DNS}' > /etc/resolv.conf`);
    await rt.applier.runCommands(rt.applier.commandsOf("openclaw-egress"));
    await rt.applier.createContainer("openclaw-egress-container");
    squidEgressIp = (await inspectContainer(rt.host, "openclaw-egress")).NetworkSettings.Networks["egress-net"].IPAddress;
    const t0 = Date.now();
    while ((await probe("direct", "openclaw-egress", "3128")).connected !== true) {
      if (Date.now() - t0 > 30_000) throw new Error(`squid not listening: ${await rt.host.ssh("docker logs openclaw-egress 2>&1").then((r) => r.stdout)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  after(() => {
    if (rt) console.log(`runtime egress: teardown ${rt.teardown().toFixed(1)} s`);
  });

  it("tunnels an allowlisted name to its upstream, which sees the proxy's egress address", async () => {
    const r = await probe("connect", "openclaw-egress:3128", "api.anthropic.com:443");
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.greeting, "upstream");
    assert.deepEqual(await hits("upstream"), [`hit upstream 443 ${squidEgressIp}`]);
  });

  for (const [target, why] of [
    ["example.com:443", "not allowlisted"],
    ["evilanthropic.com:443", "look-alike of an allowlisted domain"],
    ["api.anthropic.com:80", "allowlisted name, port other than 443"],
    [`${UPSTREAM}:443`, "IP literal"],
    ["metadata.google.internal:443", "cloud metadata name"],
    ["loop.anthropic.com:443", "allowlisted name resolving to loopback (DNS rebinding)"],
    ["linklocal.anthropic.com:443", "allowlisted name resolving to link-local (DNS rebinding)"],
    ["private.anthropic.com:443", "allowlisted name resolving into the internal network (DNS rebinding)"],
    ["cgnat.anthropic.com:443", "allowlisted name resolving to shared address space (DNS rebinding)"],
  ] as const) {
    it(`denies ${target}: ${why}`, async () => {
      const before = { upstream: await hits("upstream"), decoy: await hits("decoy"), victim: await hits("victim") };
      const r = await probe("connect", "openclaw-egress:3128", target);
      assert.equal(r.status, 403, JSON.stringify(r));
      assert.deepEqual({ upstream: await hits("upstream"), decoy: await hits("decoy"), victim: await hits("victim") }, before, "no stand-in saw a connection");
    });
  }

  it("refuses plain HTTP to an allowlisted name (only CONNECT leaves)", async () => {
    const before = await hits("upstream");
    const r = await rt.host.sshOk(`docker run --rm --network openclaw-net ${NODE_IMAGE} node -e "
      const s=require('net').connect(3128,'openclaw-egress',()=>s.write('GET http://api.anthropic.com/ HTTP/1.1\\r\\nHost: api.anthropic.com\\r\\n\\r\\n'));
      s.on('data',d=>{console.log(d.toString().split(' ')[1]);process.exit(0)});"`);
    assert.equal(r.trim(), "403");
    assert.deepEqual(await hits("upstream"), before);
  });

  // The VPS's own services (its sshd on the VPS address answers an internal container here) are
  // the host firewall's to close: runtime.host.test.ts attacks them with the firewall applied.
  it("leaves the internal network no other way out: direct TCP to the upstream and off the VPS fails", async () => {
    for (const [host, port] of [[UPSTREAM, "443"], [rt.cluster.runnerAddress, "22"]] as const) {
      const r = await probe("direct", host, port);
      assert.equal(r.connected, false, `${host}:${port} reachable from the internal network`);
    }
  });
});
