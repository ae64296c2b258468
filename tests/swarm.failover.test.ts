/**
 * Failover, timed, on three real VPSes (tests/support/vps.ts), with the
 * swarm stack's own render as the plan: the cluster is formed by the render's
 * SwarmCluster Commands, the gateway runs as the render's Swarm service (its
 * configs, secrets, mounts, healthcheck and constraint, through the Engine
 * API; tests/support/apply.ts) from the stand-in gateway image (the real
 * OpenClaw package), and the failover applies exactly what differs between
 * the render for trustedNode=nyc and the one for trustedNode=sfo: every
 * Command on the trusted node (ops timers and password file, directories, the
 * state restore) now on sfo, then the label reconcile. Swarm does the rest.
 * Measured: from the first of those Commands to the gateway healthy on sfo
 * with the state written on nyc.
 *
 * What the Pulumi engine would add (it cannot run here: the module proxy
 * refuses its Node language host and providers): its own start-up and
 * refresh, one SSH connection per Command instead of one multiplexed
 * connection, the docker provider's switch to sfo (no service changes: the
 * constraint is a label), the DNS record update, and the services' converge
 * wait. Not exercised: VIP (dnsrr here, no IP_VS), cross-node ESP, the host
 * baseline and firewall (unchanged by a failover), the socket proxy, egress
 * proxy and LiteLLM services (they follow the same label; swarm.vps.test.ts
 * times the label move for three services).
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { createService, dockerApi, RenderApplier } from "./support/apply";
import { loadImages, RECIPES } from "./support/images";
import { RenderRun, runRender, writeStackFile } from "./support/render";
import { runtimeSkip } from "./support/runtime";
import { PROJECT_ROOT, waitFor } from "./support/tools";
import { bootVps, VpsCluster, VpsHost } from "./support/vps";

const skip = runtimeSkip("swarm failover on test VPSes");
const USER = "deploy";
const GATEWAY = "openclaw-primary";
const REPOSITORY = "/var/backups/openclaw-restic";
const STATE_FILE = "/home/node/.openclaw/failover-marker";

describe("failover nyc -> sfo on real VPSes, from the stack's own render", { skip }, () => {
  let cluster: VpsCluster;
  let nyc: VpsHost;
  let sfo: VpsHost;
  const renders: Record<"nyc" | "sfo", RenderRun> = {} as Record<"nyc" | "sfo", RenderRun>;
  const appliers: Partial<Record<string, RenderApplier>> = {};
  /** The render's Commands for one trusted node, each run on the host its connection names. */
  const applier = (trusted: "nyc" | "sfo", host: VpsHost): RenderApplier => {
    const key = `${trusted}/${host.name}`;
    if (!appliers[key]) {
      const a = new RenderApplier(renders[trusted], host, USER);
      // One secret store: the same random resource gives the same value in both renders (as in the engine's state).
      for (const other of Object.values(appliers)) for (const [k, v] of other!.secrets) a.secrets.set(k, v);
      appliers[key] = a;
    }
    return appliers[key]!;
  };
  const shareSecrets = () => {
    const all = Object.values(appliers);
    for (const a of all) for (const b of all) for (const [k, v] of a!.secrets) if (!b!.secrets.has(k)) b!.secrets.set(k, v);
  };
  const taskOn = async (host: VpsHost): Promise<string | undefined> => {
    const r = await dockerApi(host, "GET", `/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.name=${GATEWAY}`] }))}`);
    return (r.body as { Id: string }[])[0]?.Id;
  };
  const healthyOn = async (host: VpsHost): Promise<string | undefined> => {
    const id = await taskOn(host);
    if (!id) return undefined;
    const info = (await dockerApi(host, "GET", `/containers/${id}/json`)).body;
    return info.State?.Health?.Status === "healthy" ? id : undefined;
  };

  before(async () => {
    cluster = await bootVps({ hosts: ["nyc", "sfo", "fra"], prefix: "ocsw", range: "10.212.0.0/16", sudoUsers: [USER] });
    [nyc, sfo] = [cluster.host("nyc"), cluster.host("sfo")];
    // The standby has the image before a failover (a registry pull would add its own time).
    const loads = await Promise.all([nyc, sfo].map((h) => loadImages(h, ["gateway"])));
    console.log(`failover: gateway image loaded in ${loads.map((l) => l["gateway"]!.toFixed(1)).join(" s, ")} s`);
    const committed = (parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.swarm-nyc.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
    for (const trusted of ["nyc", "sfo"] as const) {
      const config = {
        ...committed,
        "openclaw:nodes": cluster.hosts.map((h) => ({ name: h.name, role: "manager", address: h.address, sshUser: USER, sshPort: h.sshPort, hostKey: h.hostKey, memoryMb: 16384 })),
        "openclaw:trustedNode": trusted,
        "openclaw:standbyNode": trusted === "nyc" ? "sfo" : "nyc",
        "openclaw:swarm": { mode: "init", autolock: true },
        // No CapRover here: a tunnel's overlay stands in for captain-overlay-network.
        "openclaw:ingress": { mode: "cloudflare-tunnel", cloudflareAccountId: "d".repeat(32) },
        "openclaw:admin": { addresses: [`${cluster.runnerAddress}/32`] },
        "openclaw:images": { gateway: RECIPES.gateway.tag },
        "openclaw:providerApiKeys": { anthropic: "sk-ant-failover-test" },
        "openclaw:backup": { repository: REPOSITORY },
      };
      delete (config as Record<string, unknown>)["openclaw:nfs"]; // no NFS in this kernel
      renders[trusted] = runRender(["--stack", `failover-${trusted}`, "--config", writeStackFile(config)]);
      assert.equal(renders[trusted].status, 0, renders[trusted].stderr);
    }
  });
  after(() => cluster?.teardown());

  const trustedCommands = (r: { type: string; name: string }) => r.name.startsWith("trusted-");

  test("the cluster from the render's Commands; the gateway service healthy on nyc with state; a backup", { timeout: 600_000 }, async () => {
    const a = applier("nyc", nyc);
    await a.runCommand("swarm-bootstrap");
    const [manager = "", worker = ""] = (await a.runCommand("swarm-credentials")).stdout.split("\n");
    assert.match(manager, /^SWMTKN-1-/);
    for (const host of [sfo, cluster.host("fra")]) {
      const join = renders.nyc.resources.find((r) => r.name === `swarm-join-${host.name}`)!;
      const r = await host.ssh(join.inputs["create"], { user: USER, input: `${manager}\n${nyc.address}:2377\n` });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.notEqual(worker, "");
    await a.runCommands(trustedCommands);
    shareSecrets();
    await a.runCommand("swarm-nodes");
    for (const network of ["openclaw-net", "openclaw-proxy-net"]) await a.createNetwork(network);
    // VIP needs IP_VS, which this kernel lacks.
    await createService(a, `${GATEWAY}-service`, { endpointMode: "dnsrr" });
    const healthy = await waitFor("the gateway healthy on nyc", () => healthyOn(nyc), 300);
    const wrote = await nyc.ssh(`docker exec ${healthy} sh -c 'echo state-from-nyc > ${STATE_FILE}'`);
    assert.equal(wrote.status, 0, wrote.stderr);
    await nyc.sshOk("/usr/local/sbin/openclaw-backup");
    // The repository both nodes reach (in production: storage off the trusted node).
    rmSync(join(sfo.rootDir, REPOSITORY), { recursive: true, force: true });
    cpSync(join(nyc.rootDir, REPOSITORY), join(sfo.rootDir, REPOSITORY), { recursive: true });
  });

  test("failover: the render diff applied; the gateway healthy on sfo with nyc's state (timed)", { timeout: 600_000 }, async () => {
    // What the engine would change: every Command whose connection is the trusted node, and the reconcile.
    const before = new Map(renders.nyc.resources.map((r) => [`${r.type} ${r.name}`, JSON.stringify(r.inputs)]));
    const changed = renders.sfo.resources.filter((r) => before.get(`${r.type} ${r.name}`) !== JSON.stringify(r.inputs)).map((r) => r.name);
    assert.ok(changed.includes("swarm-nodes") && changed.includes("trusted-state-restore"), changed.join(", "));
    assert.equal(renders.sfo.resources.filter((r) => r.type === "docker:index/service:Service" && changed.includes(r.name)).length, 0, "no service spec changes");

    const b = applier("sfo", sfo);
    shareSecrets();
    const t0 = Date.now();
    const results = await b.runCommands(trustedCommands);
    await b.runCommand("swarm-nodes");
    const commandsDone = (Date.now() - t0) / 1000;
    const running = await waitFor("a gateway task on sfo", () => taskOn(sfo), 300);
    const scheduled = (Date.now() - t0) / 1000;
    // The service's own healthcheck command, run by hand each second: when /healthz first answers
    // (Docker runs the first check only one interval, 30 s, after the start).
    const test = renders.sfo.resources.find((r) => r.name === `${GATEWAY}-service` && r.type === "docker:index/service:Service")!
      .inputs["taskSpec"]["containerSpec"]["healthcheck"]["tests"] as string[];
    const command = test.slice(1).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    await waitFor("/healthz answering on sfo", async () => {
      const task = await taskOn(sfo);
      return task !== undefined && (await sfo.ssh(`docker exec ${task} ${command}`)).status === 0 ? true : undefined;
    }, 300);
    const answering = (Date.now() - t0) / 1000;
    const healthy = await waitFor("the gateway healthy on sfo", () => healthyOn(sfo), 300);
    const total = (Date.now() - t0) / 1000;
    console.log(`failover: commands (${results.size + 1}) ${commandsDone.toFixed(1)} s, task on sfo at ${scheduled.toFixed(1)} s, ` +
      `/healthz answering at ${answering.toFixed(1)} s, Docker health "healthy" at ${total.toFixed(1)} s`);

    assert.match(results.get("trusted-state-restore")!.stdout, /restored from snapshot [0-9a-f]{8}/);
    assert.equal(running, healthy, "the first task on sfo is the one that became healthy (no restart)");
    assert.equal((await sfo.sshOk(`docker exec ${healthy} cat ${STATE_FILE}`)).trim(), "state-from-nyc");
    assert.equal(await taskOn(nyc), undefined, "nothing of the gateway left on nyc");
  });
});
