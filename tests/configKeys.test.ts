/**
 * No config key is validated but unused. The leaf keys are enumerated from
 * the zod schema itself; for each, a variation changes only that key, and the
 * real program (in process, under the render's mocks) must render something
 * different: a resource input, a placed file, an output — or refuse the
 * config with a ConfigError (capacity keys only matter when they do not fit).
 * Secrets are compared by fingerprint, so a secret value reaching a resource
 * counts without its plaintext leaving the program.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { ConfigError } from "../infra/config/parse";
import { SCHEMAS, Topology, TOPOLOGIES } from "../infra/config/schema";
import { gatewayImage, OPENCLAW_RELEASES, OPENCLAW_VERSION } from "../infra/versions";
import { Render } from "../render/offlineRender";
import { BIG_HOST, TEST_HOST_KEY, TUNNEL_INGRESS } from "./support/fixtures";
import { committedSingleVps, loadCommitted, renderValues } from "./support/render";

type Values = Record<string, any>;
/** Two configs that differ only in one key: [before, after]. */
type Variation = (base: Values) => [Values, Values];

/** Every leaf key path of a schema: `gateway.instances[].name`, `channelTokens.<key>`. */
export function leafKeys(schema: z.ZodType, path = ""): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, any> } })._zod.def;
  const join = (key: string) => (path === "" ? key : `${path}.${key}`);
  switch (def["type"]) {
    case "object": return Object.entries(def["shape"] as Record<string, z.ZodType>).flatMap(([k, s]) => leafKeys(s, join(k)));
    case "optional": case "default": case "prefault": case "nullable": case "readonly": return leafKeys(def["innerType"], path);
    case "pipe": return leafKeys(def["in"], path);
    case "array": return leafKeys(def["element"], `${path}[]`);
    case "record": return leafKeys(def["valueType"], join("<key>"));
    case "union": return [...new Set((def["options"] as z.ZodType[]).flatMap((o) => leafKeys(o, path)))];
    default: return [path];
  }
}

/** A copy of `base` with `mutate` applied. */
const change = (mutate: (v: Values) => void): Variation => (base) => {
  const after = structuredClone(base);
  mutate(after);
  return [base, after];
};
/** Both sides start from `start(base)`; the after side is then mutated. */
const from = (start: (v: Values) => void, mutate: (v: Values) => void): Variation => (base) => {
  const before = structuredClone(base);
  start(before);
  return change(mutate)(before);
};
const tunnel = (v: Values) => { v["ingress"] = { ...TUNNEL_INGRESS }; };
/** A swarm without LiteLLM: the gateways call the providers themselves. */
const swarmDirect = (v: Values) => {
  delete v["litellm"];
  v["models"] = [{ provider: "anthropic", model: "claude-opus-4-6" }, { provider: "anthropic", model: "claude-sonnet-4-5-20250929" }];
  v["egress"] = { ...v["egress"], extraDomains: [] };
};

const OTHER_KEY = TEST_HOST_KEY.replace(/.{8}$/, "AAAAAAAA");

const SINGLE_VPS: Record<string, Variation> = {
  "openclawVersion": change((v) => { v["openclawVersion"] = OPENCLAW_RELEASES.find((r) => r !== OPENCLAW_VERSION); }),
  "images.gateway": change((v) => { v["images"] = { gateway: `mirror.example.com/openclaw/openclaw:${OPENCLAW_VERSION}` }; }),
  "images.egressProxy": change((v) => { v["images"] = { egressProxy: "ubuntu/squid:6.10-24.10_edge" }; }),
  "images.litellm": change((v) => { v["images"] = { litellm: "ghcr.io/berriai/litellm:v1.108.6" }; }),
  "images.socketProxy": change((v) => { v["images"] = { socketProxy: "node:20.19.6-alpine3.22" }; }),
  "images.caddy": change((v) => { v["images"] = { caddy: "caddy:2.10.3-alpine" }; }),
  "images.cloudflared": from(tunnel, (v) => { v["images"] = { cloudflared: "cloudflare/cloudflared:2025.9.1" }; }),
  "admin.addresses[]": change((v) => { v["admin"].addresses = ["198.51.100.0/24"]; }),
  "gateway.port": change((v) => { v["gateway"].port = 18800; }),
  "gateway.memoryMb": change((v) => { v["gateway"].memoryMb = 3072; }),
  "gateway.cpus": change((v) => { v["gateway"].cpus = 1; }),
  "gateway.sandbox.memoryMb": change((v) => { v["gateway"].sandbox = { memoryMb: 256 }; }),
  "gateway.sandbox.cpus": change((v) => { v["gateway"].sandbox = { cpus: 0.25 }; }),
  "gateway.sandbox.pidsLimit": change((v) => { v["gateway"].sandbox = { pidsLimit: 128 }; }),
  "gateway.sandbox.maxConcurrent": change((v) => { v["gateway"].sandbox = { maxConcurrent: 2 }; }),
  "gateway.instances[].name": change((v) => {
    v["gateway"].instances[0].name = "main";
    v["channelTokens"] = { main: v["channelTokens"].primary };
  }),
  "gateway.instances[].telegram.allowFrom[]": change((v) => { v["gateway"].instances[0].telegram.allowFrom = ["456"]; }),
  "gateway.soul": change((v) => { v["gateway"].soul = "# other rules\n"; }),
  "egress.extraDomains[]": change((v) => { v["egress"].extraDomains = [".example.org"]; }),
  "egress.memoryMb": change((v) => { v["egress"].memoryMb = 256; }),
  "egress.cpus": change((v) => { v["egress"].cpus = 0.5; }),
  "socketProxy.memoryMb": change((v) => { v["socketProxy"] = { memoryMb: 256 }; }),
  "socketProxy.cpus": change((v) => { v["socketProxy"] = { cpus: 0.5 }; }),
  "rotation.gatewayToken": change((v) => { v["rotation"] = { gatewayToken: "2" }; }),
  "rotation.litellmMasterKey": change((v) => { v["rotation"] = { litellmMasterKey: "2" }; }),
  "rotation.backupPassword": change((v) => { v["rotation"] = { backupPassword: "2" }; }),
  "capacity.hostReserveMb": change((v) => { v["capacity"] = { hostReserveMb: 12000 }; }),
  "alertWebhookUrl": change((v) => { v["alertWebhookUrl"] = "https://hooks.example.com/other"; }),
  "channelTokens.<key>": change((v) => { v["channelTokens"] = { primary: "7001:other-token" }; }),
  "host.name": change((v) => { v["host"].name = "vps2"; }),
  "host.address": change((v) => { v["host"].address = "198.51.100.20"; }),
  "host.sshUser": change((v) => { v["host"].sshUser = "admin"; }),
  "host.sshPort": change((v) => { v["host"].sshPort = 2222; }),
  "host.hostKey": change((v) => { v["host"].hostKey = OTHER_KEY; }),
  "host.memoryMb": change((v) => { v["host"].memoryMb = 4096; }),
  "networks.internal": change((v) => { v["networks"] = { internal: "172.31.10.0/24" }; }),
  "networks.proxy": change((v) => { v["networks"] = { proxy: "172.31.11.0/24" }; }),
  "networks.egress": change((v) => { v["networks"] = { egress: "172.31.12.0/24" }; }),
  "ingress.mode": change(tunnel),
  "ingress.domain": change((v) => { v["ingress"].domain = "claw.example.org"; }),
  "ingress.cloudflareZoneId": change((v) => { v["ingress"].cloudflareZoneId = "f".repeat(32); }),
  "ingress.memoryMb": change((v) => { v["ingress"].memoryMb = 256; }),
  "ingress.cloudflareAccountId": from(tunnel, (v) => { v["ingress"].cloudflareAccountId = "e".repeat(32); }),
  "litellm.memoryMb": change((v) => { v["litellm"].memoryMb = 2048; }),
  "litellm.cpus": change((v) => { v["litellm"].cpus = 2; }),
  "litellm.models[].name": change((v) => {
    v["litellm"].models[1].name = "sonnet";
    v["litellm"].models[0].fallbacks = ["sonnet"];
  }),
  "litellm.models[].provider": change((v) => {
    v["litellm"].models[1].provider = "openai";
    v["providerApiKeys"] = { ...v["providerApiKeys"], openai: "sk-openai-test" };
  }),
  "litellm.models[].model": change((v) => { v["litellm"].models[0].model = "claude-opus-4-7"; }),
  "litellm.models[].apiBase": change((v) => { v["litellm"].models[0].apiBase = "https://llm.corp.example.com/v1"; }),
  "litellm.models[].maxBudgetUsd": change((v) => { v["litellm"].models[0].maxBudgetUsd = 150; }),
  "litellm.models[].rpm": change((v) => { v["litellm"].models[0].rpm = 30; }),
  "litellm.models[].fallbacks[]": change((v) => { v["litellm"].models[0].fallbacks = []; }),
  "providerApiKeys.<key>": change((v) => { v["providerApiKeys"] = { anthropic: "sk-ant-other" }; }),
  "backup.repository": change((v) => { v["backup"] = { repository: "/srv/backups/restic" }; }),
  "backup.onCalendar": change((v) => { v["backup"] = { onCalendar: "*-*-* 04:00:00" }; }),
  "backup.keepDaily": change((v) => { v["backup"] = { keepDaily: 7 }; }),
};

/** The committed single-vps stack with every optional key present, so each one can change. */
function singleVpsBase(): Values {
  const v = committedSingleVps();
  return {
    ...v,
    host: { ...BIG_HOST, memoryMb: 16384 },
    gateway: { instances: [{ name: "primary", telegram: { allowFrom: ["123"] } }], soul: "# rules\n" },
    providerApiKeys: { anthropic: "sk-ant-test" },
    channelTokens: { primary: "7001:test-token" },
    alertWebhookUrl: "https://hooks.example.com/test",
  };
}

/** What a change can show up in: every resource's inputs, every placed file, every output. */
function fingerprint(render: Render): string {
  return JSON.stringify({
    resources: render.resources.map((r) => [r.type, r.name, r.parent, r.inputs, r.dependsOn, r.provider]),
    files: render.files,
    outputs: render.outputs,
  });
}

/** The render, or the ConfigError's problems when the program refuses the config; each distinct config rendered once. */
const outcomes = new Map<string, Promise<string>>();
function outcome(values: Values): Promise<string> {
  const key = JSON.stringify(values);
  if (!outcomes.has(key)) {
    outcomes.set(key, renderValues(values, { secrets: "fingerprint" }).then(fingerprint, (err: unknown) => {
      if (err instanceof ConfigError) return `refused: ${err.problems.join("; ")}`;
      throw err;
    }));
  }
  return outcomes.get(key)!;
}

/** Keys every Docker topology shares: the same variations apply. */
const SHARED = Object.fromEntries(Object.entries(SINGLE_VPS).filter(([k]) =>
  !/^(host|networks|ingress)\.|^images\.(caddy|cloudflared)$/.test(k)));
const swarmTunnel = (v: Values) => { v["ingress"] = { ...v["ingress"], mode: "cloudflare-tunnel", cloudflareAccountId: "d".repeat(32) }; };
const node = (v: Values, name: string): Values => (v["nodes"] as Values[]).find((n) => n["name"] === name)!;

const SWARM: Record<string, Variation> = {
  ...SHARED,
  "images.cloudflared": from(swarmTunnel, (v) => { v["images"] = { cloudflared: "cloudflare/cloudflared:2025.9.1" }; }),
  "nodes[].name": change((v) => { node(v, "fra")["name"] = "lon"; }),
  "nodes[].address": change((v) => { node(v, "fra")["address"] = "10.0.0.23"; }),
  "nodes[].sshUser": change((v) => { node(v, "fra")["sshUser"] = "admin"; }),
  "nodes[].sshPort": change((v) => { node(v, "fra")["sshPort"] = 2222; }),
  "nodes[].hostKey": change((v) => { node(v, "fra")["hostKey"] = OTHER_KEY; }),
  "nodes[].memoryMb": change((v) => { node(v, "nyc")["memoryMb"] = 4096; }),
  "nodes[].role": change((v) => { node(v, "fra")["role"] = "manager"; }),
  "nodes[].publicAddress": change((v) => { node(v, "nyc")["publicAddress"] = "198.51.100.30"; }),
  "nodes[].labels.<key>": change((v) => { node(v, "fra")["labels"] = { region: "eu-central" }; }),
  "trustedNode": change((v) => { v["trustedNode"] = "ams"; }),
  "standbyNode": change((v) => { v["standbyNode"] = "ams"; }),
  "swarm.mode": change((v) => { v["swarm"] = { mode: "init" }; }),
  "swarm.autolock": change((v) => { v["swarm"] = { ...v["swarm"], autolock: false }; }),
  "overlaySubnet": change((v) => { v["overlaySubnet"] = "10.30.0.0/24"; }),
  "egressSubnet": change((v) => { v["egressSubnet"] = "10.30.1.0/24"; }),
  "nfs.server": change((v) => { v["nfs"] = { ...v["nfs"], server: "ams", clients: ["sfo"] }; }),
  "nfs.clients[]": change((v) => { v["nfs"] = { ...v["nfs"], clients: ["sfo"] }; }),
  "nfs.exportPath": change((v) => { v["nfs"] = { ...v["nfs"], exportPath: "/srv/captain" }; }),
  "ingress.mode": change(swarmTunnel),
  "ingress.caproverSubnet": change((v) => { v["ingress"] = { ...v["ingress"], caproverSubnet: "10.0.2.0/24" }; }),
  "ingress.proxySubnet": from(swarmTunnel, (v) => { v["ingress"].proxySubnet = "10.30.2.0/24"; }),
  "ingress.cloudflareAccountId": from(swarmTunnel, (v) => { v["ingress"].cloudflareAccountId = "e".repeat(32); }),
  "ingress.memoryMb": from(swarmTunnel, (v) => { v["ingress"].memoryMb = 256; }),
  "domain": change((v) => { v["domain"] = "claw.example.org"; }),
  "cloudflareZoneId": change((v) => { v["cloudflareZoneId"] = "f".repeat(32); }),
  "images.otelCollector": change((v) => { v["images"] = { otelCollector: "otel/opentelemetry-collector-contrib:0.140.0" }; }),
  "otel.exporterEndpoint": change((v) => { v["otel"] = { ...v["otel"], exporterEndpoint: "https://otlp.other.example.net" }; }),
  "otel.memoryMb": change((v) => { v["otel"] = { ...v["otel"], memoryMb: 384 }; }),
  "otel.cpus": change((v) => { v["otel"] = { ...v["otel"], cpus: 0.5 }; }),
  "models[].provider": from(swarmDirect, (v) => {
    v["models"][1] = { provider: "openai", model: "gpt-5" };
    v["providerApiKeys"] = { ...v["providerApiKeys"], openai: "sk-openai-test" };
  }),
  "models[].model": from(swarmDirect, (v) => { v["models"][0].model = "claude-opus-4-7"; }),
};

/** The committed swarm-nyc stack with every optional key present. */
function swarmBase(): Values {
  const v = loadCommitted("swarm");
  // nyc, the trusted node, runs every pinned service: with the collector and a tunnel they need more than 8 GiB.
  const nodes = (v["nodes"] as Values[]).map((n) => (n["name"] === "nyc" ? { ...n, publicAddress: "198.51.100.10", memoryMb: 16384 } : n["name"] === "fra" ? { ...n, labels: { region: "eu" } } : n));
  return {
    ...v,
    nodes,
    // The single-vps file's egress and models: two models with a fallback, an extra domain.
    egress: committedSingleVps()["egress"],
    litellm: committedSingleVps()["litellm"],
    gateway: { instances: [{ name: "primary", telegram: { allowFrom: ["123"] } }], soul: "# rules\n" },
    providerApiKeys: { anthropic: "sk-ant-test" },
    channelTokens: { primary: "7001:test-token" },
    alertWebhookUrl: "https://hooks.example.com/test",
    otel: { exporterEndpoint: "https://otlp.example.net/otlp" },
  };
}

/** Keys tailscale-host shares with the Docker topologies (no images, LiteLLM or container limits for Squid). */
const HOST_SHARED = Object.fromEntries(Object.entries(SHARED).filter(([k]) =>
  !/^(images|litellm|providerApiKeys)\.|^egress\.(memoryMb|cpus)$|^rotation\.litellmMasterKey$/.test(k)));
const onePassword = (v: Values) => { v["hostGateway"] = { onePassword: { vault: "Ops" } }; v["opServiceAccountToken"] = "ops_test-token"; };

const TAILSCALE_HOST: Record<string, Variation> = {
  ...HOST_SHARED,
  "admin.addresses[]": from((v) => { v["tailscale"].bootstrapSsh = true; }, (v) => { v["admin"].addresses = ["198.51.100.0/24"]; }),
  "host.name": change((v) => { v["host"].name = "claw2"; }),
  "host.address": change((v) => { v["host"].address = "100.64.0.20"; }),
  "host.sshUser": change((v) => { v["host"].sshUser = "admin"; }),
  "host.sshPort": change((v) => { v["host"].sshPort = 2222; }),
  "host.hostKey": change((v) => { v["host"].hostKey = OTHER_KEY; }),
  "host.memoryMb": change((v) => { v["host"].memoryMb = 4096; }),
  "tailscale.hostname": change((v) => { v["tailscale"].hostname = "claw"; }),
  "tailscale.tailnetDomain": change((v) => { v["tailscale"].tailnetDomain = "tail9999.ts.net"; }),
  "tailscale.tags[]": change((v) => { v["tailscale"].tags = ["tag:agents"]; }),
  "tailscale.admins[]": change((v) => { v["tailscale"].admins = ["bob@example.com"]; }),
  "tailscale.groups.<key>[]": change((v) => { v["tailscale"].groups = { "group:openclaw-admins": ["carol@example.com"] }; }),
  "tailscale.authKeyExpirySeconds": change((v) => { v["tailscale"].authKeyExpirySeconds = 600; }),
  "tailscale.bootstrapSsh": change((v) => { v["tailscale"].bootstrapSsh = true; }),
  "hostGateway.tasksMax": change((v) => { v["hostGateway"] = { tasksMax: 256 }; }),
  "firewall.outbound[].ports[]": change((v) => { v["firewall"] = { outbound: [{ ports: [53] }, { ports: [443, 8443], protocol: "tcp" }] }; }),
  "firewall.outbound[].protocol": change((v) => { v["firewall"] = { outbound: [{ ports: [53], protocol: "udp" }, { ports: [80, 443], protocol: "tcp" }] }; }),
  "hostGateway.onePassword.vault": from(onePassword, (v) => { v["hostGateway"].onePassword.vault = "Other"; }),
  "opServiceAccountToken": from(onePassword, (v) => { v["opServiceAccountToken"] = "ops_other-token"; }),
  "models[].provider": change((v) => {
    v["models"][1] = { provider: "openai", model: "gpt-5" };
    v["providerApiKeys"] = { ...v["providerApiKeys"], openai: "sk-openai-test" };
  }),
  "models[].model": change((v) => { v["models"][0].model = "claude-opus-4-7"; }),
  "providerApiKeys.<key>": change((v) => { v["providerApiKeys"] = { anthropic: "sk-ant-other" }; }),
};

/** The committed tailscale-host stack with every optional key present. */
function tailscaleHostBase(): Values {
  const v = loadCommitted("tailscale-host");
  return {
    ...v,
    gateway: { ...(v["gateway"] as Values), instances: [{ name: "primary", telegram: { allowFrom: ["123"] } }], soul: "# rules\n" },
    providerApiKeys: { anthropic: "sk-ant-test" },
    channelTokens: { primary: "7001:test-token" },
    alertWebhookUrl: "https://hooks.example.com/test",
    egress: { extraDomains: [] },
  };
}

const BUILT: Record<Topology, { base: () => Values; variations: Record<string, Variation> }> = {
  "single-vps": { base: singleVpsBase, variations: SINGLE_VPS },
  swarm: { base: swarmBase, variations: SWARM },
  "tailscale-host": { base: tailscaleHostBase, variations: TAILSCALE_HOST },
};

describe("leaf keys are enumerated from the schema", () => {
  test("nested objects, arrays, records and the ingress union are walked", () => {
    const keys = leafKeys(SCHEMAS["single-vps"]);
    for (const key of ["host.hostKey", "gateway.instances[].telegram.allowFrom[]", "channelTokens.<key>", "ingress.cloudflareAccountId", "litellm.models[].fallbacks[]"]) {
      assert.ok(keys.includes(key), `${key} missing from ${keys.join(", ")}`);
    }
    assert.ok(keys.length >= 50, `only ${keys.length} keys`);
  });
});

for (const topology of TOPOLOGIES) {
  const built = BUILT[topology];
  describe(`${topology}: every key reaches a resource, a file or an output`, () => {
    const keys = leafKeys(SCHEMAS[topology]).filter((k) => k !== "topology");
    test("every leaf key has a variation, and every variation is a leaf key", () => {
      assert.deepEqual(keys.filter((k) => !(k in built.variations)), [], "keys without a variation");
      assert.deepEqual(Object.keys(built.variations).filter((k) => !keys.includes(k)), [], "variations of no key");
    });
    for (const key of keys) {
      const variation = built.variations[key];
      if (!variation) continue;
      test(key, async () => {
        const [before, after] = variation(built.base());
        const [a, b] = [await outcome(before), await outcome(after)];
        assert.doesNotMatch(a, /^refused/, `the base config is refused: ${a}`);
        assert.notEqual(a, b, `changing ${key} changed nothing`);
      });
    }
  });
}

describe("openclaw:openclawVersion is the one place that picks the OpenClaw release", () => {
  for (const release of OPENCLAW_RELEASES) {
    test(`${release}: the gateway image's tag and the openclawVersion output`, async () => {
      const render = await renderValues({ ...committedSingleVps(), openclawVersion: release });
      const gateway = render.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "openclaw-primary-container")!;
      assert.equal(gateway.inputs["image"], gatewayImage(release));
      assert.equal(render.outputs["openclawVersion"], release);
    });
  }
});
