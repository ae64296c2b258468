/**
 * The config model, table-driven: each user-caused failure — a bad value, or
 * values that together cannot work — is refused with ONE ConfigError naming
 * the right key path, by the real program, before any resource is
 * registered. The three committed stack files are valid.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, parseStackConfig } from "../infra/config/parse";
import { providerDomains } from "../infra/config/schema";
import { gatewayImage, OPENCLAW_VERSION } from "../infra/versions";
import { loadStackFile } from "../render/cli";
import { TEST_HOST_KEY as HOST_KEY, ZONE_ID as ZONE } from "./support/fixtures";
import { engineConfig, renderValues, SECRET_CONFIG_KEYS as ALL_SECRETS } from "./support/render";
import { PROJECT_ROOT } from "./support/tools";

/** A valid single-vps config as engine-style raw values. */
function validSingleVps(): Record<string, unknown> {
  return {
    topology: "single-vps",
    host: { name: "vps", address: "198.51.100.10", sshPort: 9922, hostKey: HOST_KEY },
    admin: { addresses: ["203.0.113.7/32"] },
    ingress: { mode: "caddy", domain: "openclaw.example.com", cloudflareZoneId: ZONE },
    litellm: { models: [{ name: "anthropic/claude-opus-4-6", provider: "anthropic", model: "claude-opus-4-6" }] },
    providerApiKeys: { anthropic: "sk-ant-test" },
  };
}



/** Runs the real program on `values`: the ConfigError's problems, and every resource registered before it. */
async function refusalOf(values: Record<string, unknown>, secretKeys: ReadonlySet<string> = ALL_SECRETS): Promise<{ problems: string[]; registered: string[] }> {
  const registered: string[] = [];
  try {
    await renderValues(values, { secretKeys, registered });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return { problems: err.problems, registered };
  }
  return { problems: [], registered };
}

const patch = (changes: Record<string, unknown>) => ({ ...validSingleVps(), ...changes });
const withHost = (changes: Record<string, unknown>) => patch({ host: { ...(validSingleVps()["host"] as object), ...changes } });

interface BadCase {
  what: string;
  values: Record<string, unknown>;
  /** Key path the error must name, and words it must contain. */
  path: string;
  says: RegExp;
  secretKeys?: Set<string>;
}

const BAD: BadCase[] = [
  { what: "unknown topology", values: patch({ topology: "kubernetes" }), path: "openclaw:topology", says: /expected one of "single-vps", "swarm", "tailscale-host"/ },
  { what: "missing topology", values: patch({ topology: undefined }), path: "openclaw:topology", says: /required key is missing/ },
  { what: "missing host", values: patch({ host: undefined }), path: "openclaw:host", says: /required key is missing/ },
  { what: "missing host key", values: withHost({ hostKey: undefined }), path: "openclaw:host.hostKey", says: /required key is missing/ },
  { what: "malformed host key", values: withHost({ hostKey: "not-a-key" }), path: "openclaw:host.hostKey", says: /public host key/ },
  { what: "malformed IP", values: withHost({ address: "198.51.100.300" }), path: "openclaw:host.address", says: /IPv4 or IPv6 address/ },
  { what: "hostname instead of IP", values: withHost({ address: "vps.example.com" }), path: "openclaw:host.address", says: /IPv4 or IPv6 address/ },
  { what: "SSH port out of range", values: withHost({ sshPort: 70000 }), path: "openclaw:host.sshPort", says: /port from 1 to 65535/ },
  { what: "port zero", values: patch({ gateway: { port: 0 } }), path: "openclaw:gateway.port", says: /port from 1 to 65535/ },
  { what: "port as text", values: withHost({ sshPort: "22" }), path: "openclaw:host.sshPort", says: /expected number, got string/ },
  { what: "malformed admin CIDR", values: patch({ admin: { addresses: ["203.0.113.0/33"] } }), path: "openclaw:admin.addresses[0]", says: /IP address or CIDR/ },
  { what: "no admin address", values: patch({ admin: { addresses: [] } }), path: "openclaw:admin.addresses", says: /at least one admin address/ },
  { what: "malformed network subnet", values: patch({ networks: { internal: "172.30.10.0" } }), path: "openclaw:networks.internal", says: /IPv4 CIDR/ },
  { what: "image tag latest", values: patch({ images: { gateway: "ghcr.io/openclaw/openclaw:latest" } }), path: "openclaw:images.gateway", says: /moving tag "latest"/ },
  { what: "image tag main-stable", values: patch({ images: { litellm: "ghcr.io/berriai/litellm:main-stable" } }), path: "openclaw:images.litellm", says: /moving tag "main-stable"/ },
  { what: "image without tag", values: patch({ images: { egressProxy: "ubuntu/squid" } }), path: "openclaw:images.egressProxy", says: /no tag/ },
  { what: "image major-only tag", values: patch({ images: { caddy: "caddy:2-alpine" } }), path: "openclaw:images.caddy", says: /moving tag "2-alpine"/ },
  { what: "plaintext provider key", values: validSingleVps(), secretKeys: new Set(), path: "openclaw:providerApiKeys", says: /must be a secret.*pulumi config set --secret/ },
  { what: "plaintext channel token", values: patch({ channelTokens: { primary: "123:abc" } }), secretKeys: new Set(["openclaw:providerApiKeys"]), path: "openclaw:channelTokens", says: /must be a secret/ },
  { what: "unknown top-level key (typo)", values: patch({ gatway: { port: 1 } }), path: "openclaw:gatway", says: /unknown key/ },
  { what: "unknown nested key (typo)", values: patch({ gateway: { memoryLimit: 512 } }), path: "openclaw:gateway.memoryLimit", says: /unknown key/ },
  { what: "key of another topology", values: patch({ trustedNode: "nyc" }), path: "openclaw:trustedNode", says: /not used by the single-vps topology/ },
  { what: "unknown ingress mode", values: patch({ ingress: { mode: "nginx", domain: "a.example.com", cloudflareZoneId: ZONE } }), path: "openclaw:ingress.mode", says: /"caddy" or "cloudflare-tunnel", got "nginx"/ },
  { what: "tunnel without account id", values: patch({ ingress: { mode: "cloudflare-tunnel", domain: "a.example.com", cloudflareZoneId: ZONE } }), path: "openclaw:ingress.cloudflareAccountId", says: /required key is missing/ },
  { what: "bad zone id", values: patch({ ingress: { mode: "caddy", domain: "a.example.com", cloudflareZoneId: "xyz" } }), path: "openclaw:ingress.cloudflareZoneId", says: /32-hex-digit/ },
  { what: "model provider without key", values: patch({ litellm: { models: [{ name: "gpt", provider: "openai", model: "gpt-5" }] } }), path: "openclaw:providerApiKeys.openai", says: /model "gpt" uses provider openai/ },
  { what: "fallback to an unknown model", values: patch({ litellm: { models: [{ name: "a", provider: "anthropic", model: "m", fallbacks: ["b"] }] } }), path: "openclaw:litellm.models[0].fallbacks[0]", says: /configured model/ },
  { what: "unsupported OpenClaw version", values: patch({ openclawVersion: "2026.2.15" }), path: "openclaw:openclawVersion", says: /supported OpenClaw release/ },
  { what: "duplicate gateway instance", values: patch({ gateway: { instances: [{ name: "alpha" }, { name: "alpha" }] } }), path: "openclaw:gateway.instances[1].name", says: /duplicate/ },
  { what: "channel token for no instance", values: patch({ channelTokens: { nobody: "x" } }), path: "openclaw:channelTokens.nobody", says: /gateway instance name/ },
  { what: "structured value that is not JSON", values: patch({ host: "{not json" }), path: "openclaw:host", says: /not valid structured config/ },
  { what: "swarm trusted node not in nodes", values: { ...swarmValid(), trustedNode: "tokyo" }, path: "openclaw:trustedNode", says: /expected one of the managers/ },
  { what: "swarm standby equals trusted", values: { ...swarmValid(), standbyNode: "nyc" }, path: "openclaw:standbyNode", says: /other than trustedNode/ },
  { what: "tailscale tag without prefix", values: { ...tailscaleValid(), tailscale: { hostname: "claw", tailnetDomain: "tail1234.ts.net", admins: ["alice@example.com"], tags: ["openclaw"] } }, path: "openclaw:tailscale.tags[0]", says: /Tailscale tag/ },
  { what: "tailscale-host: a model whose provider has no key", values: { ...tailscaleValid(), models: [{ provider: "anthropic", model: "claude-opus-4-6" }, { provider: "openai", model: "gpt-5" }] }, path: "openclaw:providerApiKeys.openai", says: /required key is missing \(model openai\/gpt-5 uses provider openai\)/ },
  { what: "tailscale-host: a provider key no model uses", values: { ...tailscaleValid(), providerApiKeys: { anthropic: "k", openai: "k" } }, path: "openclaw:providerApiKeys.openai", says: /no model in openclaw:models uses this provider/ },
  { what: "tailscale-host: an embeddings-only provider as the agent's model", values: { ...tailscaleValid(), models: [{ provider: "voyage", model: "voyage-3" }] }, path: "openclaw:models[0].provider", says: /expected one of "anthropic", "openai", "groq", "gemini", "xai", got string "voyage"/ },
  { what: "tailscale-host: the same model twice", values: { ...tailscaleValid(), models: [{ provider: "anthropic", model: "m" }, { provider: "anthropic", model: "m" }] }, path: "openclaw:models[1]", says: /duplicate model anthropic\/m/ },
  { what: "tailscale-host: no model", values: { ...tailscaleValid(), models: [] }, path: "openclaw:models", says: /expected at least one model/ },
  { what: "tailscale-host: Squid is the distribution's service, without container limits", values: { ...tailscaleValid(), egress: { memoryMb: 256 } }, path: "openclaw:egress.memoryMb", says: /unknown key/ },
  { what: "tailscale-host: an extra domain the model's provider already needs", values: { ...tailscaleValid(), egress: { extraDomains: ["api.anthropic.com"] } }, path: "openclaw:egress.extraDomains[0]", says: /covered by "\.anthropic\.com"/ },
  { what: "tailscale-host: LiteLLM's key rotation does not exist here", values: { ...tailscaleValid(), rotation: { litellmMasterKey: "2" } }, path: "openclaw:rotation.litellmMasterKey", says: /unknown key/ },
  { what: "tailscale-host: units and sandboxes that do not fit the host's RAM", values: { ...tailscaleValid(), host: { name: "claw", address: "100.64.0.10", hostKey: HOST_KEY, memoryMb: 4096 } }, path: "openclaw:host.memoryMb", says: /needs 5760 MiB but has 3072 MiB .*openclaw-primary 4096 \+ openclaw-docker-proxy-primary 128/ },
  // Values that used to pass config and fail later, inside a renderer or at `pulumi up`:
  { what: "extra domain a provider's domain already covers", values: patch({ egress: { extraDomains: ["api.anthropic.com"] } }), path: "openclaw:egress.extraDomains[0]", says: /covered by "\.anthropic\.com" \(a model's provider, a channel or the OTLP backend needs it\)/ },
  { what: "extra domain repeating a provider's domain", values: patch({ egress: { extraDomains: [".anthropic.com"] } }), path: "openclaw:egress.extraDomains[0]", says: /listed twice \(a model's provider, a channel or the OTLP backend needs it\)/ },
  { what: "extra domain the Telegram channel already needs", values: patch({ channelTokens: { primary: "7001:token" }, egress: { extraDomains: ["api.telegram.org"] } }), path: "openclaw:egress.extraDomains[0]", says: /listed twice \(a model's provider, a channel or the OTLP backend needs it\)/ },
  { what: "extra domain listed twice", values: patch({ egress: { extraDomains: [".voyageai.com", ".voyageai.com"] } }), path: "openclaw:egress.extraDomains[1]", says: /listed twice/ },
  { what: "extra domain covered by another extra domain", values: patch({ egress: { extraDomains: [".example.org", "api.example.org"] } }), path: "openclaw:egress.extraDomains[1]", says: /covered by "\.example\.org"/ },
  { what: "extra domain that is not a domain", values: patch({ egress: { extraDomains: [".a..b"] } }), path: "openclaw:egress.extraDomains[0]", says: /expected a lowercase domain/ },
  { what: "admin CIDR with host bits", values: patch({ admin: { addresses: ["203.0.113.7/24"] } }), path: "openclaw:admin.addresses[0]", says: /host bits set/ },
  { what: "admin CIDR admitting everybody", values: patch({ admin: { addresses: ["0.0.0.0/0"] } }), path: "openclaw:admin.addresses[0]", says: /admits every address/ },
  { what: "network with host bits", values: patch({ networks: { internal: "172.30.10.1/24" } }), path: "openclaw:networks.internal", says: /host bits set/ },
  { what: "networks that overlap", values: patch({ networks: { internal: "172.30.10.0/24", proxy: "172.30.10.128/25" } }), path: "openclaw:networks.proxy", says: /overlaps networks\.internal/ },
  ...([
    ["plain http", "http://llm.example.com/v1", /only tunnels https/],
    ["an IP literal", "https://203.0.113.9/v1", /not a lowercase DNS name/],
    ["a port other than 443", "https://llm.example.com:8443/v1", /only tunnels port 443/],
    ["credentials in the URL", "https://user:pw@llm.example.com/v1", /providerApiKeys, never in a URL/],
    ["a query", "https://llm.example.com/v1?key=x", /without a query/],
    ["not a URL", "llm.example.com", /expected an https:\/\/ URL/],
  ] as const).map(([what, apiBase, says]): BadCase => ({
    what: `model apiBase with ${what}`,
    values: patch({ litellm: { models: [{ name: "m", provider: "openai", model: "m", apiBase }] }, providerApiKeys: { openai: "sk" } }),
    path: "openclaw:litellm.models[0].apiBase",
    says,
  })),
  { what: "two models with one name", values: patch({ litellm: { models: [{ name: "a", provider: "anthropic", model: "m" }, { name: "a", provider: "anthropic", model: "n" }] } }), path: "openclaw:litellm.models[1].name", says: /duplicate model name/ },
  { what: "gateway image of another release than openclawVersion", values: patch({ images: { gateway: "ghcr.io/openclaw/openclaw:2026.9.1" } }), path: "openclaw:images.gateway", says: /tag of openclaw:openclawVersion/ },
  { what: "a removed key (admin.sshPort: host.sshPort is the one SSH port)", values: patch({ admin: { addresses: ["203.0.113.7/32"], sshPort: 9922 } }), path: "openclaw:admin.sshPort", says: /unknown key/ },
  { what: "a stack that does not fit the host's RAM", values: patch({ gateway: { instances: [{ name: "primary" }, { name: "team" }] } }), path: "openclaw:host.memoryMb", says: /needs 12672 MiB but has 7168 MiB \(8192 RAM - 1024 reserve\).*sandboxes 2 gateway\(s\) x 3 concurrent x 512 = 3072/ },
];

function swarmValid(): Record<string, unknown> {
  return {
    topology: "swarm",
    nodes: [
      { name: "nyc", role: "manager", address: "10.0.0.10", hostKey: HOST_KEY },
      { name: "sfo", role: "manager", address: "10.0.0.11", hostKey: HOST_KEY },
      { name: "ams", role: "manager", address: "10.0.0.12", hostKey: HOST_KEY },
    ],
    trustedNode: "nyc",
    admin: { addresses: ["203.0.113.7"] },
    domain: "openclaw.example.com",
    cloudflareZoneId: ZONE,
    ingress: { caproverSubnet: "10.0.1.0/24" },
    litellm: { models: [{ name: "claude", provider: "anthropic", model: "claude-opus-4-6" }] },
    providerApiKeys: { anthropic: "sk" },
  };
}

function tailscaleValid(): Record<string, unknown> {
  return {
    topology: "tailscale-host",
    host: { name: "claw", address: "100.64.0.10", hostKey: HOST_KEY },
    admin: { addresses: ["100.64.0.0/10"] },
    tailscale: { hostname: "openclaw", tailnetDomain: "tail1234.ts.net", admins: ["alice@example.com"] },
    models: [{ provider: "anthropic", model: "claude-opus-4-6" }],
    providerApiKeys: { anthropic: "sk-ant-test" },
  };
}

describe("user-caused failures are ConfigErrors naming the key, before any resource is registered", () => {
  test("the table has at least 45 cases", () => assert.ok(BAD.length >= 45));
  test("the valid base of the table renders (so each row fails for its own reason)", async () => {
    assert.deepEqual((await refusalOf(validSingleVps())).problems, []);
  });
  for (const c of BAD) {
    test(c.what, async () => {
      const { problems, registered } = await refusalOf(c.values, c.secretKeys);
      const hit = problems.find((p) => p.startsWith(`${c.path}:`));
      assert.ok(hit, `no problem names ${c.path}; got:\n${problems.join("\n")}`);
      assert.match(hit, c.says);
      assert.deepEqual(registered, [], "resources registered before the error");
    });
  }
  test("every problem is reported at once, in one error", async () => {
    const { problems } = await refusalOf(patch({ gatway: 1, host: { name: "vps", address: "x", hostKey: "y" }, images: { gateway: "a:latest" } }));
    for (const path of ["openclaw:gatway", "openclaw:host.address", "openclaw:host.hostKey", "openclaw:images.gateway"]) {
      assert.ok(problems.some((p) => p.startsWith(`${path}:`)), `${path} missing from ${problems.join("; ")}`);
    }
  });
});

describe("valid configs", () => {
  test("single-vps with defaults from the seeds and notes", () => {
    const config = parseStackConfig(engineConfig(validSingleVps()), ALL_SECRETS);
    assert.equal(config.topology, "single-vps");
    assert.equal(config.openclawVersion, OPENCLAW_VERSION);
    assert.equal(config.gateway.port, 18789);
    assert.deepEqual(config.gateway.sandbox, { memoryMb: 512, cpus: 0.5, pidsLimit: 256, maxConcurrent: 3 });
    assert.equal(config.images.gateway, gatewayImage(OPENCLAW_VERSION));
  });
  test("secret values become Pulumi secrets", async () => {
    const { isSecret } = await import("@pulumi/pulumi");
    const config = parseStackConfig(engineConfig(validSingleVps()), ALL_SECRETS);
    assert.equal(config.topology, "single-vps");
    if (config.topology !== "single-vps") return;
    assert.equal(await isSecret(config.providerApiKeys.anthropic!), true);
  });
  test("a model's apiBase host replaces its provider's domains in the egress allowlist; a covered name is left out", () => {
    const models = (list: unknown[]) => patch({ litellm: { models: list }, providerApiKeys: { openai: "sk", anthropic: "sk" } });
    const domains = (values: Record<string, unknown>) => {
      const config = parseStackConfig(engineConfig(values), ALL_SECRETS);
      return config.topology === "single-vps" ? providerDomains(config.litellm.models) : [];
    };
    assert.deepEqual(domains(models([{ name: "a", provider: "openai", model: "m", apiBase: "https://llm.corp.example.com/v1" }, { name: "b", provider: "anthropic", model: "m" }])),
      ["llm.corp.example.com", ".anthropic.com"]);
    assert.deepEqual(domains(models([{ name: "a", provider: "openai", model: "m" }, { name: "b", provider: "openai", model: "n", apiBase: "https://api.openai.com/v1" }])), [".openai.com"]);
  });
  test("swarm", () => assert.equal(parseStackConfig(engineConfig(swarmValid()), ALL_SECRETS).topology, "swarm"));
  test("tailscale-host", () => assert.equal(parseStackConfig(engineConfig(tailscaleValid()), ALL_SECRETS).topology, "tailscale-host"));
  for (const stack of ["single-vps", "swarm-nyc", "tailscale-host"]) {
    test(`Pulumi.${stack}.yaml`, () => {
      const input = loadStackFile(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), stack);
      const config = parseStackConfig(input.config, new Set(input.secretKeys));
      assert.ok(config.topology);
    });
  }
});
