/**
 * The OpenTelemetry collector (seed 001) at runtime, on a real VPS, from the
 * swarm stack's own render: the collector and the egress proxy run as the
 * render's Swarm services (their configs, user, read-only root, networks,
 * constraint; tests/support/apply.ts createService) on a one-node swarm with
 * the render's networks. The collector image is the stand-in tagged as the
 * pinned ref (tests/support/images.ts: scripts/build-otelcol.sh's binary), with
 * the run's CA added to its bundle as a user with a private CA would; Squid is
 * Debian's (the egress proxy's stand-in).
 *
 * The backend is a stand-in HTTPS server on the "internet" side (an address of
 * 198.18.0.0/15 benchmarking space on the VPS itself, never routed here) behind
 * a stand-in DNS, so nothing leaves the machine. What is judged is what the
 * backend received and what Squid logged, never the collector's own answer.
 *
 * Not the real Pulumi engine (it cannot run here); the swarm is formed by hand
 * (`docker swarm init`, the trusted label) instead of the render's Commands,
 * which swarm.failover.test.ts exercises. VIP needs IP_VS, which this kernel
 * lacks: services use dnsrr, as there.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { TRUSTED_CONSTRAINT } from "../components/swarmCluster";
import { createService, dockerApi, RenderApplier } from "./support/apply";
import { loadImages, RECIPES } from "./support/images";
import { RenderRun, runRender, writeStackFile } from "./support/render";
import { runtimeSkip } from "./support/runtime";
import { makeTestTls, TestTls } from "./support/tls";
import { missingTools, PROJECT_ROOT, waitFor } from "./support/tools";
import { bootVps, VpsCluster, VpsHost } from "./support/vps";

const skip = runtimeSkip("runtime: otel collector") ?? missingTools("runtime: otel collector", ["otelcol", "openssl"]);
const USER = "deploy";
const COLLECTOR = "openclaw-otel-collector";
const EGRESS = "openclaw-egress";
/** On the allowlist (the render's exporter endpoint) and not (a second render's), both served by the one stand-in. */
const BACKEND_HOST = "otlp.backend.test";
const ELSEWHERE_HOST = "otlp.elsewhere.test";
const BACKEND_IP = "198.18.13.10";
const DNS_IP = "198.18.13.53";
/** The collector stand-in with the run's CA in its bundle (built on the VPS). */
const COLLECTOR_WITH_TEST_CA = `${RECIPES.otelCollector.tag}-testca`;
const NODE_IMAGE = RECIPES.socketProxy.tag;

interface BackendRequest { method: string; path: string; peer: string; contentType: string | null; contentEncoding: string | null; body: string }

/** What a request to the backend carried, decoded from the wire (gzip, otlphttp's default). */
function payload(q: BackendRequest): Buffer {
  const raw = Buffer.from(q.body, "base64");
  return q.contentEncoding === "gzip" ? gunzipSync(raw) : raw;
}


describe("runtime: the OpenTelemetry collector exports through the egress proxy only", { skip, timeout: 900_000 }, () => {
  let cluster: VpsCluster;
  let vps: VpsHost;
  let tls: TestTls;
  const renders: Record<"allowed" | "elsewhere", RenderRun> = {} as Record<"allowed" | "elsewhere", RenderRun>;
  let applier: RenderApplier;

  /** The running task container of a service on the VPS. */
  const taskOf = async (service: string, seconds = 120): Promise<string> => {
    const t0 = Date.now();
    for (;;) {
      const r = await dockerApi(vps, "GET", `/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.name=${service}`] }))}`);
      const id = (r.body as { Id: string; State: string }[]).find((c) => c.State === "running")?.Id;
      if (id) return id;
      if (Date.now() - t0 > seconds * 1000) throw new Error(`no running task of ${service} after ${seconds} s: ${(await vps.ssh(`docker service ps --no-trunc ${service}`)).stdout}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const backendRequests = async (): Promise<BackendRequest[]> =>
    (await vps.sshOk("cat /opt/standins-log/requests.jsonl 2>/dev/null || true")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as BackendRequest);
  const squidLog = async () => (await vps.sshOk(`docker exec ${await taskOf(EGRESS)} cat /var/log/squid/access.log`)).split("\n").filter(Boolean);
  /** An OTLP/HTTP JSON trace POSTed from the client container on the internal network; returns the collector's HTTP status. */
  const postSpan = async (spanName: string): Promise<number> => {
    const span = { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex"), name: spanName, kind: 1, startTimeUnixNano: "1", endTimeUnixNano: "2" };
    const body = { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "openclaw-primary" } }] }, scopeSpans: [{ spans: [span] }] }] };
    const script = `fetch("http://${COLLECTOR}:4318/v1/traces",{method:"POST",headers:{"content-type":"application/json"},body:process.argv[1]}).then(r=>console.log(r.status),e=>{console.error(e);process.exit(1)})`;
    return Number((await vps.sshOk(`docker exec ${await taskOf("otlp-client")} node -e '${script}' '${JSON.stringify(body)}'`)).trim());
  };

  before(async () => {
    tls = makeTestTls({ dirPrefix: "ocot-tls-", caName: "openclaw-infra otel test CA", names: [BACKEND_HOST, ELSEWHERE_HOST] });
    cluster = await bootVps({ hosts: ["nyc"], prefix: "ocot", range: "10.217.0.0/16", sudoUsers: [USER] });
    vps = cluster.host("nyc");
    const t0 = Date.now();
    const loads = await loadImages(vps, ["otelCollector", "egressProxy", "socketProxy"]);
    console.log(`runtime otel: VPS ${cluster.bootSeconds.toFixed(1)} s, images ${JSON.stringify(loads)}`);
    const committed = (parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.swarm-nyc.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
    for (const [variant, host] of [["allowed", BACKEND_HOST], ["elsewhere", ELSEWHERE_HOST]] as const) {
      const config: Record<string, unknown> = {
        ...committed,
        // Three managers for the quorum rule; only nyc, the trusted node, exists: nothing here runs on the others.
        "openclaw:nodes": [["nyc", vps.address], ["sfo", vps.address.replace(/\d+$/, "250")], ["fra", vps.address.replace(/\d+$/, "251")]]
          .map(([name, address]) => ({ name, role: "manager", address, sshUser: USER, sshPort: vps.sshPort, hostKey: vps.hostKey, memoryMb: 16384 })),
        "openclaw:trustedNode": "nyc",
        "openclaw:swarm": { mode: "init", autolock: true },
        "openclaw:ingress": { mode: "cloudflare-tunnel", cloudflareAccountId: "d".repeat(32) },
        "openclaw:admin": { addresses: [`${cluster.runnerAddress}/32`] },
        "openclaw:images": { egressProxy: RECIPES.egressProxy.tag, otelCollector: COLLECTOR_WITH_TEST_CA },
        "openclaw:providerApiKeys": { anthropic: "sk-ant-otel-test" },
        "openclaw:otel": { exporterEndpoint: `https://${host}/otlp` },
      };
      for (const key of ["openclaw:nfs", "openclaw:standbyNode"]) delete config[key];
      renders[variant] = runRender(["--stack", `otel-${variant}`, "--config", writeStackFile(config)]);
      assert.equal(renders[variant].status, 0, renders[variant].stderr);
    }
    applier = new RenderApplier(renders.allowed, vps, USER);

    // The "internet": the backend and its DNS on addresses of the VPS itself; the VPS resolves through that DNS.
    const put = (path: string, content: string, mode = "0444") => vps.sshOk(`install -D -m ${mode} /dev/stdin ${path}`, { input: content });
    await vps.sshOk(`ip addr add ${BACKEND_IP}/32 dev lo && ip addr add ${DNS_IP}/32 dev lo && install -d -m 0755 /opt/standins-log`);
    await put("/opt/standins/standins.js", readFileSync(join(__dirname, "support/standins.js"), "utf8"));
    await put("/opt/standins/otlpStandin.js", readFileSync(join(__dirname, "support/otlpStandin.js"), "utf8"));
    await put("/opt/standins/tls/cert.pem", tls.cert);
    await put("/opt/standins/tls/key.pem", tls.key, "0400");
    await put("/opt/standins/backend.json", JSON.stringify({ port: 443, cert: "/opt/standins/tls/cert.pem", key: "/opt/standins/tls/key.pem", log: "/opt/standins-log/requests.jsonl" }));
    const standin = (name: string, ...args: string[]) => vps.sshOk(`docker run -d --name ${name} --network host ` +
      `-v /opt/standins:/opt/standins:ro -v /opt/standins-log:/opt/standins-log ${NODE_IMAGE} node ${args.map((a) => `'${a}'`).join(" ")}`);
    await standin("dns", "/opt/standins/standins.js", "dns", JSON.stringify({ [BACKEND_HOST]: BACKEND_IP, [ELSEWHERE_HOST]: BACKEND_IP }), DNS_IP);
    await standin("backend", "/opt/standins/otlpStandin.js", "/opt/standins/backend.json");
    await vps.sshOk(`echo 'nameserver ${DNS_IP}' > /etc/resolv.conf`);

    // The collector image with the run's CA appended to its bundle, as a user with a private CA builds it.
    await put("/opt/otelcol-testca/ca-certificates.crt", readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8") + tls.ca);
    await put("/opt/otelcol-testca/Dockerfile", `FROM ${RECIPES.otelCollector.tag}\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n`);
    await vps.sshOk(`DOCKER_BUILDKIT=0 docker build -q -t ${COLLECTOR_WITH_TEST_CA} /opt/otelcol-testca`, { timeoutSeconds: 120 });

    // A one-node swarm whose node carries the trusted label the services are pinned to.
    await vps.sshOk(`docker swarm init --advertise-addr ${vps.address} >/dev/null && docker node update --label-add openclaw.trusted=true "$(docker info -f '{{.Swarm.NodeID}}')"`);
    for (const network of ["openclaw-net", "openclaw-egress-net"]) await applier.createNetwork(network);
    await createService(applier, `${EGRESS}-service`, { endpointMode: "dnsrr", image: RECIPES.egressProxy.tag });
    await createService(applier, `${COLLECTOR}-service`, { endpointMode: "dnsrr" });
    // What a gateway is to the collector: a task on the internal network (not attachable, so a service).
    await vps.sshOk(`docker service create -d --name otlp-client --network openclaw-net --endpoint-mode dnsrr --constraint '${TRUSTED_CONSTRAINT}' ${NODE_IMAGE} sleep infinity`);
    await Promise.all([taskOf(EGRESS), taskOf(COLLECTOR), taskOf("otlp-client")]);
    // Swarm puts a task with a healthcheck into service discovery only once it is healthy: until Squid's first
    // check passes (its interval, 30 s), `openclaw-egress` does not resolve and the collector's exports wait in
    // its retry queue (seen here: "lookup openclaw-egress on 127.0.0.11:53: i/o timeout").
    const healthy = await waitFor("the egress proxy healthy", async () =>
      (await dockerApi(vps, "GET", `/containers/${await taskOf(EGRESS)}/json`)).body.State.Health?.Status === "healthy" ? true : undefined, 240);
    assert.equal(healthy, true);
    console.log(`runtime otel: services running ${((Date.now() - t0) / 1000).toFixed(1)} s after the VPS booted`);
  });
  after(() => {
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
    if (cluster) console.log(`runtime otel: teardown ${cluster.teardown().toFixed(1)} s`);
  });

  test("the collector runs the rendered config as user 10001 on a read-only root, on the internal network only", async () => {
    const info = (await dockerApi(vps, "GET", `/containers/${await taskOf(COLLECTOR)}/json`)).body;
    assert.equal(info.Config.Image.split("@")[0], COLLECTOR_WITH_TEST_CA);
    assert.equal(info.Config.User, "10001:10001");
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ["openclaw-net"]);
    assert.deepEqual(info.Args, ["--config=/etc/otelcol-contrib/config.yaml"]);
    const pid = info.State.Pid as number;
    // The image has no shell: read the config through the task's own root.
    assert.equal(await vps.sshOk(`cat /proc/${pid}/root/etc/otelcol-contrib/config.yaml`), renders.allowed.fileContent("/etc/otelcol-contrib/config.yaml"));
  });

  test("an OTLP/HTTP POST on the internal network is accepted, and the export reaches the backend through Squid", { timeout: 120_000 }, async () => {
    const spanName = `otel-runtime-proof-${randomBytes(4).toString("hex")}`;
    assert.equal(await postSpan(spanName), 200);
    const seen = await waitFor("the span at the backend", async () => (await backendRequests()).find((q) => payload(q).includes(spanName)), 60).catch(async (err: Error) => {
      const logs = await vps.ssh(`docker service logs --tail 30 ${COLLECTOR} 2>&1`);
      throw new Error(`${err.message}\ncollector:\n${logs.stdout}\nsquid:\n${(await squidLog()).join("\n")}\nbackend:\n${JSON.stringify(await backendRequests())}`);
    });
    assert.equal(seen.method, "POST");
    assert.equal(seen.path, "/otlp/v1/traces");
    // Protobuf, as the exporter re-encodes what it received as JSON (the span name travels as its UTF-8 bytes).
    assert.equal(seen.contentType, "application/x-protobuf");
    const squidTask = (await dockerApi(vps, "GET", `/containers/${await taskOf(EGRESS)}/json`)).body;
    const collectorIp = (await dockerApi(vps, "GET", `/containers/${await taskOf(COLLECTOR)}/json`)).body.NetworkSettings.Networks["openclaw-net"].IPAddress as string;
    // The backend saw Squid's egress side (its docker_gwbridge address), never the collector's.
    const gwbridge = (await dockerApi(vps, "GET", "/networks/docker_gwbridge")).body.Containers[squidTask.Id].IPv4Address.split("/")[0];
    assert.equal(seen.peer.replace(/^::ffff:/, ""), gwbridge);
    // Squid logs a tunnel when it closes: the backend drops the idle connection after Node's keep-alive (5 s).
    const tunnel = new RegExp(`\\s${collectorIp.replace(/\./g, "\\.")}\\s+TCP_TUNNEL/200\\s.*CONNECT ${BACKEND_HOST.replace(/\./g, "\\.")}:443 `);
    await waitFor("Squid's log of the collector's tunnel to the backend", async () => ((await squidLog()).some((l) => tunnel.test(l)) ? true : undefined), 60)
      .catch(async (err: Error) => { throw new Error(`${err.message}\n${(await squidLog()).join("\n")}`); });
  });

  test("the collector has no route out of its own", async () => {
    const pid = (await dockerApi(vps, "GET", `/containers/${await taskOf(COLLECTOR)}/json`)).body.State.Pid as number;
    const direct = await vps.ssh(`nsenter -t ${pid} -n timeout 5 bash -c 'exec 3<>/dev/tcp/${BACKEND_IP}/443'`);
    assert.notEqual(direct.status, 0, "the collector's namespace connected to the backend directly");
    assert.doesNotMatch(await vps.sshOk(`nsenter -t ${pid} -n ip route`), /^default/m);
    // The control: the same probe from the VPS itself connects, so the refusal above is the collector's network.
    assert.equal((await vps.ssh(`timeout 5 bash -c 'exec 3<>/dev/tcp/${BACKEND_IP}/443'`)).status, 0);
  });

  test("a backend whose host is not on Squid's allowlist receives nothing", { timeout: 180_000 }, async () => {
    // The second render's collector (its endpoint otlp.elsewhere.test) behind the first render's Squid.
    await vps.sshOk(`docker service rm ${COLLECTOR}`);
    await waitFor("the first collector gone", async () => ((await vps.ssh(`docker ps -q --filter label=com.docker.swarm.service.name=${COLLECTOR}`)).stdout.trim() === "" ? true : undefined), 60);
    await createService(new RenderApplier(renders.elsewhere, vps, USER), `${COLLECTOR}-service`, { endpointMode: "dnsrr" });
    await taskOf(COLLECTOR);
    const before = (await backendRequests()).length;
    const spanName = `otel-denied-${randomBytes(4).toString("hex")}`;
    await waitFor("the collector answering", async () => ((await postSpan(spanName).catch(() => 0)) === 200 ? true : undefined), 60);
    const denied = await waitFor("Squid's refusal", async () => (await squidLog()).find((l) => l.includes(`CONNECT ${ELSEWHERE_HOST}:443`)), 60);
    assert.match(denied, /TCP_DENIED\/403/);
    // The collector retries: give it time, then nothing new at the backend.
    await new Promise((r) => setTimeout(r, 5000));
    const after = await backendRequests();
    assert.equal(after.length, before, JSON.stringify(after.slice(before)));
    assert.equal(after.some((q) => payload(q).includes(spanName)), false);
  });
});
