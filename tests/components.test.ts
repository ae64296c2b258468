/**
 * The container components under the Pulumi mocks, in both modes: a Docker
 * container on one host and a Swarm service pinned by placement. Asserts the
 * exact provider inputs that carry the security properties.
 */
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { EgressProxy } from "../components/egressProxy";
import { Gateway } from "../components/gateway";
import { LiteLlm, renderLiteLlmConfig, renderLiteLlmStartScript } from "../components/litellm";
import { SocketProxy } from "../components/socketProxy";
import { connectHost } from "../infra/hosts";
import { publicRoutes } from "../infra/publicRoutes";
import { gatewayImage, OPENCLAW_VERSION } from "../infra/versions";
import { Render } from "../render/offlineRender";
import { WorkloadTarget } from "../infra/workload";
import { SANDBOX, TEST_HOST as HOST } from "./support/fixtures";
import { inputsOf, renderComponents } from "./support/mockProgram";
import { asLines, placementsOf } from "./support/placement";
import { findTool, missingTools, run } from "./support/tools";

const CONSTRAINTS = ["node.labels.openclaw.trusted == true"];
const MODELS = [
  { name: "claude", provider: "anthropic" as const, model: "claude-opus-4-6", maxBudgetUsd: 100, rpm: 60, fallbacks: ["sonnet"] },
  { name: "sonnet", provider: "anthropic" as const, model: "claude-sonnet-4-5", fallbacks: [] },
];

function buildAll(mode: "container" | "swarm"): Promise<Render> {
  return renderComponents(() => {
    const host = connectHost(HOST);
    const swarmProvider = new docker.Provider("nyc-docker", { host: "ssh://deploy@10.0.0.10:9922" });
    const target = (name: string): WorkloadTarget => mode === "container"
      ? { kind: "container", host, filesDir: `/opt/openclaw/${name}` }
      : { kind: "swarm", provider: swarmProvider, constraints: CONSTRAINTS };
    const net = { name: "openclaw-net" };
    const socket = new SocketProxy("openclaw-docker-proxy", { image: "node:20.19.5-alpine3.22", instances: [{ name: "primary", gatewayContainer: "openclaw-primary", sandboxRoot: "/srv/openclaw/primary/sandboxes" }], sandbox: { memoryMb: 512, pidsLimit: 256, cpus: 0.5 }, network: net, memoryMb: 128, cpus: 0.25, target: target("openclaw-docker-proxy") });
    const egress = new EgressProxy("openclaw-egress", { allowDomains: [".anthropic.com"], clientSubnets: ["172.30.10.0/24"], internalDestinations: [{ host: "openclaw-litellm", port: 4000 }], image: "ubuntu/squid:6.6-24.04_edge", internalNetwork: net, egressNetwork: { name: "egress-net" }, memoryMb: 128, cpus: 0.25, target: target("openclaw-egress") });
    const litellm = new LiteLlm("openclaw-litellm", { image: "ghcr.io/berriai/litellm:v1.108.5", models: MODELS, providerApiKeys: { anthropic: pulumi.secret("sk-ant-unit") }, egressProxyUrl: egress.url, network: net, memoryMb: 1024, cpus: 1, masterKeyRotation: "1", target: target("openclaw-litellm") });
    new Gateway("openclaw-primary", {
      image: gatewayImage(OPENCLAW_VERSION), port: 18789,
      exposure: { kind: "reverse-proxy", trustedProxies: ["172.30.11.0/24"] },
      publicRoute: publicRoutes("openclaw.example.com", ["primary"], "path")[0]!,
      dataRoot: "/srv/openclaw/primary", docker: socket.access["primary"]!, egressProxyUrl: egress.url,
      modelProxy: { baseUrl: litellm.url, apiKey: litellm.masterKey, models: ["claude"], primary: "claude" },
      telegram: { botToken: pulumi.secret("123:unit"), allowFrom: [] },
      sandbox: SANDBOX, memoryMb: 4096, cpus: 2,
      networks: [net, { name: "proxy-net" }], tokenRotation: "1", target: target("openclaw-primary"),
    });
    return {};
  });
}

const WORKLOADS = ["openclaw-docker-proxy", "openclaw-egress", "openclaw-litellm", "openclaw-primary"];

describe("container mode", () => {
  let render: Render;
  before(async () => { render = await buildAll("container"); });

  test("components are typed openclaw:infra:<Name> and parent their children", () => {
    const types = render.resources.filter((r) => !r.custom).map((r) => r.type).sort();
    assert.deepEqual(types, ["openclaw:infra:EgressProxy", "openclaw:infra:Gateway", "openclaw:infra:LiteLlm", "openclaw:infra:SocketProxy"]);
    for (const name of WORKLOADS) assert.equal(render.resources.find((r) => r.name === `${name}-container`)!.parent, name);
  });

  test("every container is hardened the same way", () => {
    for (const name of WORKLOADS) {
      const c = inputsOf(render, `${name}-container`);
      assert.equal(c["name"], name);
      assert.equal(c["privileged"], false, name);
      assert.deepEqual(c["capabilities"]["drops"], ["ALL"], name);
      assert.deepEqual(c["securityOpts"], ["no-new-privileges:true"], name);
      assert.equal(c["restart"], "on-failure", name);
      assert.equal(c["maxRetryCount"], 5, name);
      assert.equal(c["readOnly"], true, name);
      assert.equal(c["memory"], c["memorySwap"], `${name}: no swap beyond the limit`);
      assert.ok(c["memory"] > 0 && Number(c["cpus"]) > 0, name);
      assert.ok(c["healthcheck"]["tests"].length > 1, name);
      assert.deepEqual(c["logOpts"], { "max-size": "10m", "max-file": "3" }, name);
      assert.equal(c["ports"], undefined, `${name} publishes nothing`);
      assert.equal(c["networkMode"], undefined, `${name} uses no host network`);
    }
  });

  test("exact inputs: the egress proxy", () => {
    const c = inputsOf(render, "openclaw-egress-container");
    assert.equal(c["image"], "ubuntu/squid:6.6-24.04_edge");
    assert.deepEqual(c["networksAdvanced"], [{ name: "openclaw-net" }, { name: "egress-net" }]);
    assert.deepEqual(c["volumes"], [{ hostPath: "/opt/openclaw/openclaw-egress/etc/squid/squid.conf", containerPath: "/etc/squid/squid.conf", readOnly: true }]);
    assert.deepEqual(c["healthcheck"]["tests"], ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3128"]);
    assert.deepEqual(c["capabilities"]["adds"], ["SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE"]);
    const file = inputsOf(render, "openclaw-egress-etc-squid-squid.conf");
    assert.match(file["create"], /install -d -m 0755 \/opt\/openclaw\/openclaw-egress\/etc\/squid/);
    assert.match(file["stdin"], /^acl allowlist dstdomain -n \.anthropic\.com$/m);
    // The command provider keeps the whole connection secret; connectHost is checked directly below.
    assert.equal(file["connection"], "[secret]");
  });

  test("exact inputs: the gateway", () => {
    const c = inputsOf(render, "openclaw-primary-container");
    assert.equal(c["user"], "1000:1000");
    assert.deepEqual(c["envs"], [
      "HOME=/home/node", "OPENCLAW_CONFIG_PATH=/etc/openclaw/openclaw.json", "OPENCLAW_STATE_DIR=/home/node/.openclaw", "XDG_CACHE_HOME=/tmp/.cache",
      "DOCKER_HOST=unix:///run/openclaw-docker/docker.sock", "HTTP_PROXY=http://openclaw-egress:3128", "HTTPS_PROXY=http://openclaw-egress:3128", "OPENCLAW_DISABLE_BONJOUR=1",
    ]);
    const volumes = c["volumes"] as { containerPath: string; hostPath?: string; volumeName?: string; readOnly: boolean }[];
    assert.deepEqual(volumes.find((v) => v.containerPath === "/home/node/.openclaw"), { containerPath: "/home/node/.openclaw", volumeName: "openclaw-primary-data", readOnly: false });
    const sandboxes = volumes.find((v) => v.containerPath === "/srv/openclaw/primary/sandboxes");
    assert.equal(sandboxes?.hostPath, "/srv/openclaw/primary/sandboxes", "sandbox workspace: same path on host and in the container");
    // Its own socket-proxy listener only, read-only (connecting is not writing).
    assert.deepEqual(volumes.filter((v) => v.hostPath?.startsWith("/run/openclaw/docker-proxy")), [{ containerPath: "/run/openclaw-docker", hostPath: "/run/openclaw/docker-proxy/primary", readOnly: true }]);
    const proxyVolumes = inputsOf(render, "openclaw-docker-proxy-container")["volumes"] as { containerPath: string; hostPath?: string; readOnly: boolean }[];
    assert.deepEqual(proxyVolumes.find((v) => v.containerPath === "/srv/openclaw/primary/sandboxes"), { containerPath: "/srv/openclaw/primary/sandboxes", hostPath: "/srv/openclaw/primary/sandboxes", readOnly: true }, "the proxy sees sandbox roots read-only");
    assert.ok(volumes.filter((v) => v.containerPath.startsWith("/run/secrets/") || v.containerPath.startsWith("/etc/")).every((v) => v.readOnly));
    assert.match(c["healthcheck"]["tests"].join(" "), /\/healthz/);
    const token = inputsOf(render, "openclaw-primary-run-secrets-openclaw-gateway-token");
    assert.equal(token["stdin"], "[secret]");
    assert.equal(token["logging"], "none");
    assert.match(token["create"], /chmod 0400/);
    assert.match(token["create"], /chown 1000:1000/);
    const config = inputsOf(render, "openclaw-primary-etc-openclaw-openclaw.json");
    assert.equal(JSON.parse(config["stdin"]).gateway.auth.token.source, "file", "openclaw.json holds no secret, only a reference");
    assert.equal(config["logging"], "stdoutAndStderr");
  });

  test("exact inputs: LiteLLM starts through its script, keys stay out of env", () => {
    const c = inputsOf(render, "openclaw-litellm-container");
    assert.deepEqual(c["entrypoints"], ["/bin/sh", "/etc/litellm/start.sh"]);
    assert.deepEqual(c["envs"], ["HTTPS_PROXY=http://openclaw-egress:3128", "HTTP_PROXY=http://openclaw-egress:3128", "NO_PROXY=localhost,127.0.0.1"]);
    assert.equal(inputsOf(render, "openclaw-litellm-run-secrets-anthropic-api-key")["stdin"], "[secret]");
  });

  test("only the socket proxy mounts docker.sock, read-only", () => {
    for (const name of WORKLOADS) {
      const sockets = (inputsOf(render, `${name}-container`)["volumes"] as { hostPath?: string; readOnly: boolean }[]).filter((v) => v.hostPath?.endsWith("docker.sock"));
      assert.deepEqual(sockets.map((s) => s.readOnly), name === "openclaw-docker-proxy" ? [true] : [], name);
    }
  });

  test("no container's environment holds a secret", () => {
    for (const name of WORKLOADS) {
      const env = JSON.stringify(inputsOf(render, `${name}-container`)["envs"] ?? []);
      assert.doesNotMatch(env, /\[secret\]|sk-ant-unit|123:unit/, name);
    }
  });
});

describe("connectHost", () => {
  test("pins the host key for remote commands and for the docker CLI's ssh", async () => {
    const render = await renderComponents(() => {
      const host = connectHost(HOST);
      return { connection: host.connection };
    });
    assert.deepEqual(render.outputs["connection"], { host: HOST.address, port: 9922, user: "deploy", hostKey: HOST.hostKey });
    const provider = inputsOf(render, "vps-docker");
    assert.equal(provider["host"], "ssh://deploy@198.51.100.10:9922");
    assert.deepEqual(JSON.parse(provider["sshOpts"]), [
      "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null",
      "-o", `KnownHostsCommand=/bin/echo [198.51.100.10]:9922 ${HOST.hostKey}`, "-o", "BatchMode=yes",
    ]);
  });
});

describe("swarm mode", () => {
  let render: Render;
  before(async () => { render = await buildAll("swarm"); });

  test("every service is pinned, limited, restarted on failure and health-checked", () => {
    for (const name of WORKLOADS) {
      const s = inputsOf(render, `${name}-service`);
      assert.equal(s["name"], name);
      assert.deepEqual(s["taskSpec"]["placement"], { constraints: CONSTRAINTS, maxReplicas: 1 }, name);
      assert.ok(s["taskSpec"]["resources"]["limits"]["memoryBytes"] > 0, name);
      assert.ok(s["taskSpec"]["resources"]["limits"]["nanoCpus"] > 0, name);
      assert.deepEqual(s["taskSpec"]["restartPolicy"], { condition: "on-failure", maxAttempts: 5, delay: "10s", window: "120s" }, name);
      assert.ok(s["taskSpec"]["containerSpec"]["healthcheck"]["tests"].length > 1, name);
      assert.deepEqual(s["taskSpec"]["containerSpec"]["capDrops"], ["ALL"], name);
      assert.equal(s["taskSpec"]["containerSpec"]["readOnly"], true, name);
      assert.deepEqual(s["mode"], { replicated: { replicas: 1 } });
    }
  });

  test("files arrive as Swarm configs, secrets as Swarm secrets", () => {
    const gw = inputsOf(render, "openclaw-primary-service")["taskSpec"]["containerSpec"];
    const secretFiles = (gw["secrets"] as { fileName: string; fileUid: string; fileMode: number }[]).map((s) => [s.fileName, s.fileUid, s.fileMode]);
    assert.deepEqual(secretFiles.sort(), [
      ["/run/secrets/litellm-key", "1000", 0o400],
      ["/run/secrets/openclaw-gateway-token", "1000", 0o400],
      ["/run/secrets/telegram-bot-token", "1000", 0o400],
    ]);
    assert.deepEqual((gw["configs"] as { fileName: string }[]).map((c) => c.fileName).sort(), ["/etc/openclaw/openclaw.json", "/srv/openclaw/primary/workspace/SOUL.md"]);
    assert.equal(inputsOf(render, "openclaw-primary-secret-run-secrets-openclaw-gateway-token")["data"], "[secret]");
    const config = inputsOf(render, "openclaw-egress-config-etc-squid-squid.conf");
    assert.match(config["name"], /^openclaw-egress-etc-squid-squid\.conf-[0-9a-f]{12}$/, "content hash in the name");
    assert.match(Buffer.from(config["data"], "base64").toString("utf8"), /http_access deny all/);
  });

  test("the render's file list is exactly the configs and secrets the services mount", () => {
    const { placements } = placementsOf(render.resources as never, "vps");
    assert.ok(placements.length >= 10);
    assert.deepEqual(asLines(placements), asLines(render.files.map((f) => ({ ...f }))));
  });

  test("no service environment holds a secret", () => {
    for (const name of WORKLOADS) {
      assert.doesNotMatch(JSON.stringify(inputsOf(render, `${name}-service`)["taskSpec"]["containerSpec"]["env"] ?? {}), /\[secret\]/, name);
    }
  });

  test("the socket proxy service binds docker.sock read-only, nobody else binds it", () => {
    for (const name of WORKLOADS) {
      const mounts = (inputsOf(render, `${name}-service`)["taskSpec"]["containerSpec"]["mounts"] as { source?: string; readOnly?: boolean }[]);
      const sock = mounts.filter((m) => m.source === "/var/run/docker.sock");
      assert.deepEqual(sock.map((m) => m.readOnly), name === "openclaw-docker-proxy" ? [true] : [], name);
    }
  });
});

describe("LiteLLM renderers", () => {
  // LiteLLM's documented proxy config (docs.litellm.ai/docs/proxy/configs), the keys this project uses.
  const litellmParams = z.strictObject({ model: z.string().regex(/^[a-z_]+\/.+/), api_key: z.string().regex(/^os\.environ\/[A-Z_]+$/), api_base: z.url({ protocol: /^https$/ }).optional(), rpm: z.number().int().optional(), tpm: z.number().int().optional(), max_budget: z.number().optional(), budget_duration: z.string().regex(/^\d+[smhd]|\d+mo$/).optional() });
  const documented = z.strictObject({
    model_list: z.array(z.strictObject({ model_name: z.string(), litellm_params: litellmParams })).min(1),
    router_settings: z.strictObject({ fallbacks: z.array(z.record(z.string(), z.array(z.string()))) }).optional(),
    litellm_settings: z.strictObject({ drop_params: z.boolean(), turn_off_message_logging: z.boolean() }),
    general_settings: z.strictObject({ master_key: z.string().regex(/^os\.environ\/[A-Z_]+$/) }),
  });

  test("config.yaml matches the documented schema, budgets, rpm and fallbacks from config", () => {
    const parsed = documented.parse(parseYaml(renderLiteLlmConfig(MODELS)));
    assert.equal(parsed.model_list[0]?.litellm_params.api_base, undefined, "no api_base unless configured: the provider's public API");
    assert.deepEqual(parsed.model_list[0], { model_name: "claude", litellm_params: { model: "anthropic/claude-opus-4-6", api_key: "os.environ/ANTHROPIC_API_KEY", rpm: 60, max_budget: 100, budget_duration: "30d" } });
    assert.deepEqual(parsed.router_settings?.fallbacks, [{ claude: ["sonnet"] }]);
  });

  test("a model's apiBase becomes its api_base", () => {
    const parsed = documented.parse(parseYaml(renderLiteLlmConfig([{ name: "local", provider: "openai", model: "qwen3", apiBase: "https://llm.corp.example.com/v1", fallbacks: [] }])));
    assert.deepEqual(parsed.model_list[0]?.litellm_params, { model: "openai/qwen3", api_key: "os.environ/OPENAI_API_KEY", api_base: "https://llm.corp.example.com/v1" });
  });

  test("the start script is shellcheck-clean", { skip: missingTools("shellcheck on the LiteLLM start script", ["shellcheck"]) }, () => {
    const file = join(mkdtempSync(join(tmpdir(), "litellm-")), "start.sh");
    writeFileSync(file, renderLiteLlmStartScript(["anthropic", "openai"]));
    const result = run(findTool("shellcheck")!, ["-s", "sh", file]);
    assert.equal(result.status, 0, result.stdout);
  });
});
