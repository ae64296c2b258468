/**
 * The single-vps stack's model path on a test VPS, for the model and sandbox
 * suites: Squid, LiteLLM and the gateway (optionally the socket proxy) created
 * from the render's own resources, and a stand-in LLM provider on the egress
 * side ("the internet": the egress network, 198.18.0.0/15 benchmarking space,
 * never routed here) behind a stand-in DNS, so nothing leaves the machine.
 *
 * The stack reaches the stand-in the way a user reaches a self-hosted or
 * proxied provider: `litellm.models[].apiBase` = https://llm.provider.test/v1.
 * Its certificate comes from a CA made for the run; LiteLLM trusts it because
 * `images.litellm` names an image derived (on the VPS) from the stand-in with
 * that CA added to its bundle — what a user with a private CA does. Nothing in
 * the rendered containers is changed by hand.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inspectContainer, waitHealthy } from "./apply";
import { loadImages, RECIPES, testImagesConfig } from "./images";
import { declaredHealthSeconds, Runtime, startRuntime } from "./runtime";
import { makeTestTls } from "./tls";

export const PROVIDER_HOST = "llm.provider.test";
export const EGRESS_SUBNET = "198.18.12.0/24";
export const PROVIDER_IP = "198.18.12.10";
const DNS_IP = "198.18.12.53";
export const MODEL = { name: "standin", provider: "openai", model: "standin-1", apiBase: `https://${PROVIDER_HOST}/v1` } as const;
/** The LiteLLM stand-in with the run's CA in its trust bundle (built on the VPS). */
const LITELLM_WITH_TEST_CA = `${RECIPES.litellm.tag}-testca`;
export const NODE_IMAGE = RECIPES.socketProxy.tag;
export const GATEWAY = "openclaw-primary";
export const LITELLM = "openclaw-litellm";
export const EGRESS = "openclaw-egress";
export const SOCKET_PROXY = "openclaw-docker-proxy";
/** The rtmodel suites' own namespaces and addresses (COORDINATION.md). */
const VPS = { prefix: "ocrm", range: "10.216.0.0/16" };

export interface ProviderRequest {
  at: string;
  method: string;
  path: string;
  peer: string;
  authorization: string | null;
  body: any;
}

export interface ModelPath {
  rt: Runtime;
  /** The provider API key LiteLLM holds: what the provider must receive. */
  providerKey: string;
  /** LiteLLM's master key (also the gateway's model key). */
  masterKey: string;
  /** Address of a container on one of its networks. */
  ip(container: string, network: string): Promise<string>;
  /** Every request the stand-in provider received, in order. */
  providerRequests(): Promise<ProviderRequest[]>;
  /** Squid's access log, one entry per line. */
  squidLog(): Promise<string[]>;
  /** One agent turn through the gateway, as an operator runs it: `openclaw agent` inside the gateway container. */
  agentTurn(message: string, timeoutSeconds: number): Promise<{ status: number; stdout: string; stderr: string; seconds: number }>;
  /** Seconds: VPS boot, image loads, render, LiteLLM healthy, gateway /healthz, derived image build. */
  timings: Record<string, number | Record<string, number>>;
  teardown(): number;
}


export async function startModelPath(options: { standin: { reply: string; command?: string }; socketProxy?: boolean }): Promise<ModelPath> {
  const tls = makeTestTls({ dirPrefix: "ocrm-tls-", caName: "openclaw-infra test CA", names: [PROVIDER_HOST] });
  const rt = await startRuntime({
    vps: VPS,
    images: ["gateway", "egressProxy", "litellm", "socketProxy"],
    config: {
      networks: { internal: "172.30.10.0/24", proxy: "172.30.11.0/24", egress: EGRESS_SUBNET },
      images: { ...testImagesConfig(), litellm: LITELLM_WITH_TEST_CA },
      litellm: { models: [MODEL] },
      providerApiKeys: { openai: "fed by the applier" },
      // No messaging channel: the turns come from the operator's CLI.
      channelTokens: undefined,
    },
  });
  try {
    const { host, applier } = rt;
    const timings: ModelPath["timings"] = { ...rt.timings };
    if (options.socketProxy) Object.assign(timings.load as Record<string, number>, await loadImages(host, ["sandbox"]));

    // The stand-ins and their files.
    const put = (path: string, content: string, mode = "0444") => host.sshOk(`install -D -m ${mode} /dev/stdin ${path}`, { input: content });
    await put("/opt/standins/standins.js", readFileSync(join(__dirname, "standins.js"), "utf8"));
    await put("/opt/standins/modelStandin.js", readFileSync(join(__dirname, "modelStandin.js"), "utf8"));
    await put("/opt/standins/tls/cert.pem", tls.cert);
    // The stand-in runs as root in its container; the key never leaves the VPS's stand-in directory.
    await put("/opt/standins/tls/key.pem", tls.key, "0400");
    await put("/opt/standins/provider.json", JSON.stringify({
      port: 443, cert: "/opt/standins/tls/cert.pem", key: "/opt/standins/tls/key.pem", log: "/opt/standins-log/requests.jsonl",
      model: MODEL.model, ...options.standin,
    }));
    await host.sshOk("install -d -m 0755 /opt/standins-log");

    // LiteLLM's image with the run's CA in its bundle, as a user with a private CA builds it.
    const t0 = Date.now();
    await put("/opt/litellm-testca/test-ca.crt", tls.ca);
    await put("/opt/litellm-testca/Dockerfile", [
      `FROM ${RECIPES.litellm.tag}`,
      "COPY test-ca.crt /usr/local/share/openclaw-test-ca.crt",
      `RUN cat /usr/local/share/openclaw-test-ca.crt >> "$(python3 -c 'import certifi; print(certifi.where())')"`,
      "",
    ].join("\n"));
    await host.sshOk(`DOCKER_BUILDKIT=0 docker build -q -t ${LITELLM_WITH_TEST_CA} /opt/litellm-testca`, { timeoutSeconds: 300 });
    timings["litellmTestCaBuild"] = (Date.now() - t0) / 1000;

    for (const n of ["openclaw-net", "proxy-net", "egress-net"]) await applier.createNetwork(n);
    const standin = (name: string, ip: string, ...args: string[]) => host.sshOk(`docker run -d --name ${name} --network egress-net --ip ${ip} ` +
      `-v /opt/standins:/opt/standins:ro -v /opt/standins-log:/opt/standins-log ${NODE_IMAGE} node ${args.map((a) => `'${a}'`).join(" ")}`);
    await standin("dns", DNS_IP, "/opt/standins/standins.js", "dns", JSON.stringify({ [PROVIDER_HOST]: PROVIDER_IP }));
    await standin("provider", PROVIDER_IP, "/opt/standins/modelStandin.js", "/opt/standins/provider.json");
    // The VPS's resolver is the stand-in DNS: Docker's embedded DNS forwards to it.
    await host.sshOk(`echo 'nameserver ${DNS_IP}' > /etc/resolv.conf`);

    // LiteLLM requires a master key starting with "sk-" (the program renders `sk-<random>`); the render
    // only says "[secret]", so the applier is handed the whole value for the random resource.
    applier.secrets.set(`${LITELLM}-master-key`, `sk-${randomBytes(24).toString("hex")}`);
    const components = [EGRESS, LITELLM, GATEWAY, ...(options.socketProxy ? [SOCKET_PROXY] : [])];
    await applier.runCommands((r) => components.includes(r.parent ?? ""));
    await applier.createContainer(`${EGRESS}-container`);
    await applier.createContainer(`${LITELLM}-container`);
    if (options.socketProxy) await applier.createContainer(`${SOCKET_PROXY}-container`);
    await applier.createVolume(`${GATEWAY}-data`);
    await applier.createContainer(`${GATEWAY}-container`);

    const keyCommand = applier.render.resources.find((r) => r.type === "command:remote:Command" && r.parent === LITELLM && String(r.inputs["create"]).includes("openai-api-key"));
    if (!keyCommand) throw new Error("the render places no openai-api-key file for LiteLLM");
    const ip = async (container: string, network: string) => (await inspectContainer(host, container)).NetworkSettings.Networks[network].IPAddress as string;

    const t1 = Date.now();
    // LiteLLM: its declared allowance (60 + 3 x 30 s), doubled for the same reason (seen 62 s at load 18).
    timings["litellmHealthy"] = await waitHealthy(host, LITELLM, 2 * declaredHealthSeconds(applier, `${LITELLM}-container`));
    const gatewayIp = await ip(GATEWAY, "openclaw-net");
    // Twice the declared healthcheck allowance (60 + 3 x 30 s): seen ~65 s at load 18 and over 150 s at load 31 on
    // two cores (the full suite runs two heavy files at once beside other suites); the gateway suite holds the
    // declared allowance itself.
    const healthzWithin = 2 * declaredHealthSeconds(applier, `${GATEWAY}-container`);
    for (;;) {
      const r = await host.ssh(`curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://${gatewayIp}:18789/healthz`);
      if (r.stdout.trim() === "200") break;
      if (Date.now() - t1 > healthzWithin * 1000) {
        throw new Error(`gateway /healthz not 200 within ${healthzWithin} s:\n${(await host.ssh(`docker logs --tail 60 ${GATEWAY} 2>&1`)).stdout}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    timings["gatewayHealthz"] = (Date.now() - t1) / 1000;

    return {
      rt, timings, ip,
      providerKey: applier.secret(keyCommand.name),
      masterKey: applier.secret(`${LITELLM}-master-key`),
      async providerRequests() {
        const text = await host.sshOk("cat /opt/standins-log/requests.jsonl 2>/dev/null || true");
        return text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as ProviderRequest);
      },
      async squidLog() {
        return (await host.sshOk(`docker exec ${EGRESS} cat /var/log/squid/access.log`)).split("\n").filter(Boolean);
      },
      async agentTurn(message: string, timeoutSeconds: number) {
        const t = Date.now();
        if (!/^[A-Za-z0-9 .,:-]+$/.test(message)) throw new Error(`agentTurn: keep the message to plain words (${message})`);
        const r = await host.ssh(`docker exec ${GATEWAY} openclaw agent --agent main --message '${message}' --json --timeout ${timeoutSeconds}`,
          { timeoutSeconds: timeoutSeconds + 60 });
        return { ...r, seconds: (Date.now() - t) / 1000 };
      },
      teardown: () => {
        rmSync(tls.dir, { recursive: true, force: true });
        return rt.teardown();
      },
    };
  } catch (err) {
    rmSync(tls.dir, { recursive: true, force: true });
    rt.teardown();
    throw err;
  }
}
