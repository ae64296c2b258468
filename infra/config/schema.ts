/**
 * The stack config model: every `openclaw:` key, its type, its default and its
 * checks — this file is where defaults live. Every check a user's value can
 * fail is here, with the key path, so a user meets it before anything is
 * registered; renderers only assert what this already guaranteed.
 * ./parse.ts turns the engine's raw config into these types.
 */
import * as pulumi from "@pulumi/pulumi";
import { isIP } from "node:net";
import { z } from "zod";
import { allowlistConflicts, allowRuleProblem, ALLOWLIST_ENTRY, ipv4CidrsOverlap, isCidr, isIpv4Cidr, outboundAllowlistProblem, outboundRuleProblem, PLAIN_ABSOLUTE_PATH, UNIX_USER } from "../rules";
import { channelDomains } from "../channels";
import { imagePinProblem, parseImageRef } from "../images";
import { quorumProblem } from "../quorum";
import { CHAT_PROVIDER_NAMES, PROVIDER_NAMES, PROVIDERS, ProviderName } from "../providers";
import { DEFAULT_IMAGES, gatewayImage, OPENCLAW_RELEASES, OPENCLAW_VERSION } from "../versions";

/** Keys whose values must arrive as Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["providerApiKeys", "channelTokens", "alertWebhookUrl", "opServiceAccountToken"] as const;

type Path = (string | number)[];
const issue = (ctx: z.RefinementCtx, path: Path, message: string) => ctx.addIssue({ code: "custom", path, message });

// ---------------------------------------------------------------- primitives

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, "expected a lowercase name: letters, digits and '-' (2-32 chars)");
const port = z.number().int("expected a whole number").min(1, "expected a port from 1 to 65535").max(65535, "expected a port from 1 to 65535");
const ipAddress = z.string().refine((v) => isIP(v) !== 0, "expected an IPv4 or IPv6 address");
/** A network given to Docker or to a firewall rule: a network address, never /0. */
const ipv4Network = z.string().refine(isIpv4Cidr, "expected an IPv4 CIDR such as 172.30.10.0/24").superRefine((v, ctx) => {
  const problem = isIpv4Cidr(v) ? allowRuleProblem(v) : undefined;
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const allowedSource = z.string().refine((v) => isIP(v) !== 0 || isCidr(v), "expected an IP address or CIDR").superRefine((v, ctx) => {
  const problem = isIP(v) !== 0 || isCidr(v) ? allowRuleProblem(v) : undefined;
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const domain = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "expected a lowercase DNS name such as api.example.com");
const image = z.string().superRefine((ref, ctx) => {
  const problem = imagePinProblem(ref);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const sshHostKey = z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/,
  "expected a public host key line such as 'ssh-ed25519 AAAA...' (ssh-keyscan -t ed25519 HOST)");
const memoryMb = z.number().int("expected a whole number of MiB").min(16, "expected at least 16 MiB");
const cpus = z.number().positive("expected a positive number of CPUs").max(256);
const secretString = z.string().min(1, "expected a non-empty value").transform((v) => pulumi.secret(v));
const absolutePath = z.string().regex(PLAIN_ABSOLUTE_PATH, "expected an absolute path");

/** An OTLP/HTTP exporter endpoint the egress proxy can carry: https, port 443, a DNS name it can allowlist, no credentials. */
export function otlpEndpointProblem(value: string): string | undefined {
  let url: URL;
  try { url = new URL(value); } catch { return "expected an https URL such as https://otlp.example.com"; }
  if (url.protocol !== "https:") return "expected https (the egress proxy tunnels only TLS on 443)";
  if (url.port !== "" && url.port !== "443") return "expected port 443 (the egress proxy tunnels only TLS on 443)";
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return "expected no credentials, query or fragment in the URL";
  if (!ALLOWLIST_ENTRY.test(url.hostname) || url.hostname.startsWith(".")) return "expected a DNS name the egress allowlist can hold (not an IP address)";
  return undefined;
}

// ---------------------------------------------------------------- shared parts

const providerName = z.enum(PROVIDER_NAMES);

const hostSchema = z.strictObject({
  name,
  address: ipAddress,
  sshUser: z.string().regex(UNIX_USER, "expected a Unix user name").default("deploy"),
  sshPort: port.default(22),
  hostKey: sshHostKey,
  memoryMb: memoryMb.default(8192),
});

const imageFields = {
  gateway: image.optional(),
  egressProxy: image.default(DEFAULT_IMAGES.egressProxy),
  litellm: image.default(DEFAULT_IMAGES.litellm),
  socketProxy: image.default(DEFAULT_IMAGES.socketProxy),
  caddy: image.default(DEFAULT_IMAGES.caddy),
  cloudflared: image.default(DEFAULT_IMAGES.cloudflared),
};
const imagesSchema = z.strictObject(imageFields).prefault({});
// The swarm has no Caddy (CapRover's nginx or a tunnel is its ingress): no key it would ignore.
const { caddy: _caddy, ...sharedImageFields } = imageFields;
const swarmImagesSchema = z.strictObject({ ...sharedImageFields, otelCollector: image.default(DEFAULT_IMAGES.otelCollector) }).prefault({});

const adminSchema = z.strictObject({
  addresses: z.array(allowedSource).min(1, "expected at least one admin address (SSH is allowed only from these)"),
});

const sandboxSchema = z.strictObject({
  memoryMb: memoryMb.default(512),
  cpus: cpus.default(0.5),
  pidsLimit: z.number().int().min(16).max(32768).default(256),
  maxConcurrent: z.number().int().min(1).max(64).default(3),
});

const gatewayInstanceSchema = z.strictObject({
  name,
  telegram: z.strictObject({ allowFrom: z.array(z.string().regex(/^\d+$/, "expected a numeric Telegram user id")).default([]) }).optional(),
});

const gatewaySchema = z.strictObject({
  port: port.default(18789),
  memoryMb: memoryMb.default(4096),
  cpus: cpus.default(2),
  sandbox: sandboxSchema.prefault({}),
  instances: z.array(gatewayInstanceSchema).min(1).default([{ name: "primary" }]),
  soul: z.string().min(1).optional(),
});

/**
 * Where LiteLLM sends a model's requests instead of its provider's public API: a self-hosted or
 * proxied provider (vLLM, an Azure or corporate LLM gateway). Its host replaces the provider's
 * domains in the egress allowlist. https on port 443 only: Squid tunnels nothing else, and the
 * provider key must not cross the network in clear. A DNS name, never an IP literal (Squid refuses those).
 */
const apiBase = z.string().superRefine((value, ctx) => {
  const problem = apiBaseProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export function apiBaseProblem(value: string): string | undefined {
  const expected = "expected an https:// URL of a DNS name on port 443 such as https://llm.example.com/v1";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return expected;
  }
  if (url.protocol !== "https:") return `${expected}: the egress proxy only tunnels https, and the provider key must not travel in clear`;
  if (url.username !== "" || url.password !== "") return `${expected}: credentials belong in openclaw:providerApiKeys, never in a URL`;
  if (url.port !== "") return `${expected}: the egress proxy only tunnels port 443`;
  if (url.search !== "" || url.hash !== "" || value.includes("?") || value.includes("#")) return `${expected}, without a query or fragment`;
  if (!ALLOWLIST_ENTRY.test(url.hostname) || url.hostname.startsWith(".")) return `${expected}: "${url.hostname}" is not a lowercase DNS name (IP literals are refused by the egress proxy)`;
  return undefined;
}

/** The host a model's requests go to, when its apiBase moves them off the provider's public API. */
export function apiBaseHost(model: { apiBase?: string | undefined }): string | undefined {
  // A malformed apiBase is already a config problem of its own: it adds no domain.
  return model.apiBase === undefined || apiBaseProblem(model.apiBase) ? undefined : new URL(model.apiBase).hostname;
}

const modelSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, "expected a model alias such as anthropic/claude-opus-4-6"),
  provider: providerName,
  model: z.string().min(1),
  /** Default: the provider's public API (infra/providers.ts). */
  apiBase: apiBase.optional(),
  maxBudgetUsd: z.number().positive().optional(),
  rpm: z.number().int().positive().optional(),
  fallbacks: z.array(z.string()).default([]),
});

const litellmSchema = z.strictObject({
  memoryMb: memoryMb.default(1024),
  cpus: cpus.default(1),
  models: z.array(modelSchema).min(1, "expected at least one model"),
});

const egressSchema = z.strictObject({
  extraDomains: z.array(z.string().regex(ALLOWLIST_ENTRY, "expected a lowercase domain (api.example.com) or a domain with its subdomains (.example.com)")).default([]),
  memoryMb: memoryMb.default(128),
  cpus: cpus.default(0.25),
});

const socketProxySchema = z.strictObject({
  memoryMb: memoryMb.default(128),
  cpus: cpus.default(0.25),
});

const rotationSchema = z.strictObject({
  gatewayToken: z.string().default("1"),
  litellmMasterKey: z.string().default("1"),
  backupPassword: z.string().default("1"),
});

const capacitySchema = z.strictObject({ hostReserveMb: memoryMb.default(1024) });

const common = {
  openclawVersion: z.string().refine((v) => OPENCLAW_RELEASES.includes(v),
    `expected a supported OpenClaw release (${OPENCLAW_RELEASES.join(", ")}): the config schema is strict per release`).default(OPENCLAW_VERSION),
  images: imagesSchema,
  admin: adminSchema,
  gateway: gatewaySchema.prefault({}),
  egress: egressSchema.prefault({}),
  socketProxy: socketProxySchema.prefault({}),
  rotation: rotationSchema.prefault({}),
  capacity: capacitySchema.prefault({}),
  alertWebhookUrl: secretString.optional(),
  channelTokens: z.record(name, secretString).default({}),
};

const networksSchema = z.strictObject({
  internal: ipv4Network.default("172.30.10.0/24"),
  proxy: ipv4Network.default("172.30.11.0/24"),
  egress: ipv4Network.default("172.30.12.0/24"),
});

const cloudflareZone = {
  domain,
  cloudflareZoneId: z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-hex-digit Cloudflare zone id"),
};
const ingressSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("caddy"), ...cloudflareZone, memoryMb: memoryMb.default(128) }),
  z.strictObject({
    mode: z.literal("cloudflare-tunnel"),
    ...cloudflareZone,
    cloudflareAccountId: z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-hex-digit Cloudflare account id"),
    memoryMb: memoryMb.default(128),
  }),
], { error: (iss) => `expected ingress.mode "caddy" or "cloudflare-tunnel", got ${JSON.stringify((iss.input as { mode?: unknown } | undefined)?.mode) ?? "nothing"}` });

const backupSchema = z.strictObject({
  repository: absolutePath.default("/var/backups/openclaw-restic"),
  onCalendar: z.string().regex(/^[A-Za-z0-9*:,./ -]+$/, "expected a systemd OnCalendar expression").default("*-*-* 03:00:00"),
  keepDaily: z.number().int().min(1).default(14),
});

const providerKeys = z.partialRecord(providerName, secretString);

/** A model a gateway calls directly (tailscale-host; a swarm without LiteLLM): the provider's own API. */
const directModelSchema = z.strictObject({
  /** Chat providers only: voyage (embeddings) is LiteLLM's, not an agent's. */
  provider: z.enum(CHAT_PROVIDER_NAMES as [ProviderName, ...ProviderName[]]),
  model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "expected the provider's model id such as claude-opus-4-6"),
});

/** Every model's provider has a key, no key goes unused, and no model is listed twice. */
function checkDirectModels(cfg: { models: { provider: ProviderName; model: string }[]; providerApiKeys: Partial<Record<ProviderName, unknown>> }, ctx: z.RefinementCtx): void {
  const ids = cfg.models.map((m) => `${m.provider}/${m.model}`);
  cfg.models.forEach((m, i) => {
    if (ids.indexOf(ids[i]!) !== i) issue(ctx, ["models", i], `duplicate model ${ids[i]}`);
    if (cfg.providerApiKeys[m.provider] === undefined) issue(ctx, ["providerApiKeys", m.provider], `required key is missing (model ${ids[i]} uses provider ${m.provider})`);
  });
  for (const provider of Object.keys(cfg.providerApiKeys)) {
    if (!cfg.models.some((m) => m.provider === provider)) issue(ctx, ["providerApiKeys", provider], "no model in openclaw:models uses this provider: remove it");
  }
}

// ---------------------------------------------------------------- cross-key checks

interface CommonValues {
  openclawVersion: string;
  images: { gateway?: string | undefined };
  gateway: { instances: { name: string }[] };
  channelTokens: Record<string, unknown>;
  egress: { extraDomains: string[] };
}

interface ModelValues {
  litellm: { models: { name: string; provider: ProviderName; fallbacks: string[] }[] };
  providerApiKeys: Partial<Record<ProviderName, unknown>>;
}

/** An overridden gateway image may move the repository or add a digest, never change the release. */
function checkGatewayImage(cfg: CommonValues, ctx: z.RefinementCtx): void {
  if (cfg.images.gateway === undefined || imagePinProblem(cfg.images.gateway)) return;
  const { tag } = parseImageRef(cfg.images.gateway);
  if (tag !== cfg.openclawVersion) {
    issue(ctx, ["images", "gateway"], `expected the tag of openclaw:openclawVersion (${cfg.openclawVersion}), got ${JSON.stringify(tag ?? "no tag")}: ` +
      `the rendered openclaw.json targets that release (default image ${gatewayImage(cfg.openclawVersion)})`);
  }
}

/** Gateway instance names are unique, and each channel token belongs to one. */
function checkInstances(cfg: Pick<CommonValues, "gateway" | "channelTokens">, ctx: z.RefinementCtx): void {
  const names = cfg.gateway.instances.map((i) => i.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) issue(ctx, ["gateway", "instances", i, "name"], `duplicate instance name "${n}"`);
  });
  for (const key of Object.keys(cfg.channelTokens)) {
    if (!names.includes(key)) issue(ctx, ["channelTokens", key], `expected a gateway instance name (${names.join(", ")})`);
  }
}

/** Every model's provider needs an API key, model names are unique, and fallbacks name configured models. */
function checkModels(cfg: ModelValues, ctx: z.RefinementCtx): void {
  const aliases = cfg.litellm.models.map((m) => m.name);
  cfg.litellm.models.forEach((model, i) => {
    if (aliases.indexOf(model.name) !== i) issue(ctx, ["litellm", "models", i, "name"], `duplicate model name "${model.name}"`);
    if (cfg.providerApiKeys[model.provider] === undefined) {
      issue(ctx, ["providerApiKeys", model.provider], `required key is missing (model "${model.name}" uses provider ${model.provider})`);
    }
    model.fallbacks.forEach((fallback, j) => {
      if (!aliases.includes(fallback)) issue(ctx, ["litellm", "models", i, "fallbacks", j], `expected the name of a configured model, got "${fallback}"`);
    });
  });
}

/**
 * The domains the models need, in model order, each once: the provider's domains, or exactly the
 * apiBase host when a model has one. A name a `.parent` entry already covers is left out (Squid
 * refuses the pair).
 */
export function providerDomains(models: readonly { provider: ProviderName; apiBase?: string | undefined }[]): string[] {
  const all = [...new Set(models.flatMap((m) => { const host = apiBaseHost(m); return host === undefined ? [...PROVIDERS[m.provider].domains] : [host]; }))];
  const covered = new Set(allowlistConflicts(all).map((c) => c.index));
  return all.filter((_, i) => !covered.has(i));
}

/** What the egress allowlist must hold: the models' domains, the configured channels' and an OTLP backend's, each once. */
export function requiredDomains(models: readonly { provider: ProviderName; apiBase?: string | undefined }[], channelTokens: Readonly<Record<string, unknown>>, otlpEndpoint?: string): string[] {
  return [...new Set([
    ...providerDomains(models),
    ...channelDomains(channelTokens),
    ...(otlpEndpoint === undefined ? [] : [new URL(otlpEndpoint).hostname]),
  ])];
}

/** extraDomains may add names, never repeat one or name one already covered (Squid refuses the list). */
function checkExtraDomains(cfg: Pick<CommonValues, "egress" | "channelTokens">, models: readonly { provider: ProviderName; apiBase?: string | undefined }[], ctx: z.RefinementCtx, otlpEndpoint?: string): void {
  const required = requiredDomains(models, cfg.channelTokens, otlpEndpoint);
  const extra = cfg.egress.extraDomains;
  for (const { index, other, problem } of allowlistConflicts([...required, ...extra])) {
    if (index < required.length) continue;
    const note = other < required.length ? " (a model's provider, a channel or the OTLP backend needs it)" : "";
    issue(ctx, ["egress", "extraDomains", index - required.length], `${problem}${note}: remove it`);
  }
}

/** The deployment's Docker networks must not share addresses. */
function checkNetworks(cfg: { networks: Record<string, string> }, ctx: z.RefinementCtx): void {
  const entries = Object.entries(cfg.networks);
  entries.forEach(([key, cidr], i) => {
    const clash = entries.slice(0, i).find(([, other]) => ipv4CidrsOverlap(cidr, other));
    if (clash) issue(ctx, ["networks", key], `${cidr} overlaps networks.${clash[0]} (${clash[1]})`);
  });
}

/** The gateway image follows openclaw:openclawVersion unless overridden (checked above). */
function withGatewayImage<T extends { openclawVersion: string; images: { gateway?: string | undefined } }>(cfg: T): T & { images: { gateway: string } } {
  return { ...cfg, images: { ...cfg.images, gateway: cfg.images.gateway ?? gatewayImage(cfg.openclawVersion) } };
}

// ---------------------------------------------------------------- topologies

const singleVpsSchema = z.strictObject({
  topology: z.literal("single-vps"),
  ...common,
  host: hostSchema,
  networks: networksSchema.prefault({}),
  ingress: ingressSchema,
  litellm: litellmSchema,
  providerApiKeys: providerKeys,
  backup: backupSchema.prefault({}),
}).superRefine((cfg, ctx) => {
  checkGatewayImage(cfg, ctx);
  checkModels(cfg, ctx);
  checkInstances(cfg, ctx);
  checkExtraDomains(cfg, cfg.litellm.models, ctx);
  checkNetworks(cfg, ctx);
}).transform(withGatewayImage);

// Swarm (seeds 000, 001): nodes with roles; every sensitive service pinned to the trusted node.
const nodeLabels = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const key of Object.keys(labels)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(key)) issue(ctx, [key], "expected a label key such as region");
    else if (key.startsWith("openclaw.")) issue(ctx, [key], "openclaw.* labels are set by the stack (openclaw:trustedNode)");
    else if (!/^[A-Za-z0-9._-]+$/.test(labels[key]!)) issue(ctx, [key], "expected a label value of letters, digits, '.', '_' or '-'");
  }
});
const swarmNodeSchema = hostSchema.extend({
  role: z.enum(["manager", "worker"]),
  /** Address Cloudflare reaches (the DNS record); `address` is the one peers use. */
  publicAddress: ipAddress.optional(),
  labels: nodeLabels.default({}),
});
const swarmSchema = z.strictObject({
  topology: z.literal("swarm"),
  ...common,
  images: swarmImagesSchema,
  nodes: z.array(swarmNodeSchema).min(1, "expected at least one swarm node"),
  trustedNode: name,
  standbyNode: name.optional(),
  /** init: the first manager creates the swarm; adopt: it already runs one (CapRover's), used as it is. */
  swarm: z.strictObject({ mode: z.enum(["init", "adopt"]).default("init"), autolock: z.boolean().default(true) }).prefault({}),
  overlaySubnet: ipv4Network.default("10.20.0.0/24"),
  egressSubnet: ipv4Network.default("10.20.1.0/24"),
  nfs: z.strictObject({
    server: name,
    /** Managers that mount the export (default: every manager but the server). */
    clients: z.array(name).optional(),
    exportPath: absolutePath.default("/captain/data"),
  }).optional(),
  /** Seed 001: an OpenTelemetry collector on the trusted node; the gateways export to it, it exports only through the egress proxy. */
  otel: z.strictObject({
    /** The backend's OTLP/HTTP endpoint, https on port 443 (the egress proxy tunnels nothing else); its host joins the egress allowlist. */
    exporterEndpoint: z.string().superRefine((v, ctx) => {
      const problem = otlpEndpointProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
    memoryMb: memoryMb.default(256),
    cpus: cpus.default(0.25),
  }).optional(),
  /** caprover: CapRover's nginx proxies to the gateways over its overlay; cloudflare-tunnel: cloudflared on the trusted node. */
  ingress: z.strictObject({
    mode: z.enum(["caprover", "cloudflare-tunnel"]).default("caprover"),
    /** caprover: the subnet of captain-overlay-network, the only proxies the gateways trust
     * (`docker network inspect captain-overlay-network --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}'`). */
    caproverSubnet: ipv4Network.optional(),
    /** cloudflare-tunnel: the overlay between cloudflared and the gateways. */
    proxySubnet: ipv4Network.default("10.20.2.0/24"),
    cloudflareAccountId: z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-hex-digit Cloudflare account id").optional(),
    memoryMb: memoryMb.default(128),
  }).prefault({}),
  domain,
  cloudflareZoneId: cloudflareZone.cloudflareZoneId,
  /** LiteLLM, "if configured" (the swarm seeds have none): it routes litellm.models and holds the provider keys. */
  litellm: litellmSchema.optional(),
  /** Without LiteLLM, the gateways call these directly (first = primary, rest = fallbacks), keys as Swarm secrets. */
  models: z.array(directModelSchema).min(1, "expected at least one model: the first is the agent's primary, the rest its fallbacks").optional(),
  providerApiKeys: providerKeys,
  backup: backupSchema.prefault({}),
}).superRefine((cfg, ctx) => {
  const names = cfg.nodes.map((n) => n.name);
  const managers = cfg.nodes.filter((n) => n.role === "manager").map((n) => n.name);
  const mustBeOneOf = (value: string | undefined, path: Path, among: string[], what: string) => {
    if (value !== undefined && !among.includes(value)) issue(ctx, path, `expected one of the ${what} (${among.join(", ")}), got "${value}"`);
  };
  cfg.nodes.forEach((n, i) => {
    if (names.indexOf(n.name) !== i) issue(ctx, ["nodes", i, "name"], `duplicate node name "${n.name}"`);
    if (cfg.nodes.findIndex((m) => m.address === n.address) !== i) issue(ctx, ["nodes", i, "address"], `duplicate node address ${n.address}`);
  });
  const quorum = quorumProblem(managers);
  if (quorum) issue(ctx, ["nodes"], quorum);
  // The stack drives the Swarm API and moves the label through the trusted node: it must be a manager (so must its standby).
  mustBeOneOf(cfg.trustedNode, ["trustedNode"], managers, "managers");
  mustBeOneOf(cfg.standbyNode, ["standbyNode"], managers, "managers");
  if (cfg.standbyNode !== undefined && cfg.standbyNode === cfg.trustedNode) issue(ctx, ["standbyNode"], "expected a node other than trustedNode");
  mustBeOneOf(cfg.nfs?.server, ["nfs", "server"], names, "nodes");
  cfg.nfs?.clients?.forEach((c, i) => mustBeOneOf(c, ["nfs", "clients", i], managers, "managers"));
  if (cfg.ingress.mode === "caprover" && cfg.ingress.caproverSubnet === undefined) {
    issue(ctx, ["ingress", "caproverSubnet"], "required key is missing (ingress.mode caprover): the subnet of captain-overlay-network, the only proxies the gateways trust");
  }
  if (cfg.ingress.mode === "cloudflare-tunnel" && cfg.ingress.cloudflareAccountId === undefined) {
    issue(ctx, ["ingress", "cloudflareAccountId"], "required key is missing (ingress.mode cloudflare-tunnel)");
  }
  checkNetworks({ networks: { overlaySubnet: cfg.overlaySubnet, egressSubnet: cfg.egressSubnet, proxy: cfg.ingress.mode === "caprover" ? cfg.ingress.caproverSubnet ?? cfg.ingress.proxySubnet : cfg.ingress.proxySubnet } }, ctx);
  checkGatewayImage(cfg, ctx);
  if (cfg.litellm && cfg.models) issue(ctx, ["models"], "remove it, or remove openclaw:litellm: with LiteLLM the gateways call only LiteLLM, which routes litellm.models");
  if (!cfg.litellm && !cfg.models) {
    issue(ctx, ["litellm"], "required key is missing: set openclaw:litellm (LiteLLM routes the models) or openclaw:models (the gateways call the providers directly)");
  }
  if (cfg.litellm) checkModels({ litellm: cfg.litellm, providerApiKeys: cfg.providerApiKeys }, ctx);
  else if (cfg.models) checkDirectModels({ models: cfg.models, providerApiKeys: cfg.providerApiKeys }, ctx);
  checkInstances(cfg, ctx);
  checkExtraDomains(cfg, cfg.litellm?.models ?? cfg.models ?? [], ctx, cfg.otel && !otlpEndpointProblem(cfg.otel.exporterEndpoint) ? cfg.otel.exporterEndpoint : undefined);
}).transform(withGatewayImage);

// ---------------------------------------------------------------- tailscale-host (seeds 003/004)

const tailnetGroup = z.string().regex(/^group:[a-z0-9-]+$/, "expected a group such as group:openclaw-admins");
const tailnetUser = z.string().regex(/^[^\s@",]+@[^\s@",]+$/, "expected a tailnet login such as alice@example.com");
const tailscaleSchema = z.strictObject({
  /** The machine name on the tailnet: the gateway is https://<hostname>.<tailnetDomain>:<port>. */
  hostname: name,
  tailnetDomain: z.string().regex(/^[a-z0-9-]+\.ts\.net$/, "expected the tailnet's MagicDNS domain such as tail1234.ts.net"),
  tags: z.array(z.string().regex(/^tag:[a-z0-9-]+$/, "expected a Tailscale tag such as tag:openclaw")).min(1).default(["tag:openclaw"]),
  /** Who may reach the gateway (and SSH): logins or groups defined in `groups`. */
  admins: z.array(z.union([tailnetUser, tailnetGroup])).min(1, "expected at least one admin: nobody could reach the gateway"),
  groups: z.record(tailnetGroup, z.array(tailnetUser).min(1)).default({}),
  /** Lifetime of the single-use auth key: it only has to outlive the first `pulumi up`. */
  authKeyExpirySeconds: z.number().int().min(300).max(7_776_000).default(3600),
  /** While migrating (seed 003 §1.5): SSH also from admin.addresses on any interface. Off: UFW admits only tailscale0. */
  bootstrapSsh: z.boolean().default(false),
});

const outboundRuleSchema = z.strictObject({
  ports: z.array(z.number().int().min(1).max(65535)).min(1),
  /** tcp or udp; unset: both (a single port only). */
  protocol: z.enum(["tcp", "udp"]).optional(),
}).superRefine((rule, ctx) => {
  const problem = outboundRuleProblem(rule);
  if (problem) issue(ctx, [], problem);
});

/**
 * Seed 003 §1.5 option B, the hardened outbound default: UFW denies outgoing except DNS, HTTP(S), NTP and
 * Tailscale's direct UDP. The gateways themselves reach only loopback (their units); this bounds the host.
 */
export const DEFAULT_HOST_OUTBOUND = [
  { ports: [53] },
  { ports: [80, 443], protocol: "tcp" as const },
  { ports: [123], protocol: "udp" as const },
  { ports: [41641], protocol: "udp" as const },
];

const hostFirewallSchema = z.strictObject({
  /** Where the host may open connections (any address): the allowlist behind UFW's `deny outgoing`. */
  outbound: z.array(outboundRuleSchema).min(1).default(DEFAULT_HOST_OUTBOUND),
});

const hostGatewaySchema = z.strictObject({
  tasksMax: z.number().int().min(64).max(32768).default(512),
  /** Seed 003 appendix B: secrets resolved by `op run` from this 1Password vault instead of files. */
  onePassword: z.strictObject({ vault: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, "expected a 1Password vault name") }).optional(),
});

// No containers or LiteLLM on this topology: their keys (images, egress limits, rotation.litellmMasterKey) are not offered.
// Squid runs as the distribution's service (components/hostEgressProxy.ts): only its allowlist is config.
const { images: _images, egress: _egress, ...hostCommon } = common;
const hostEgressSchema = egressSchema.pick({ extraDomains: true });
const tailscaleHostSchema = z.strictObject({
  topology: z.literal("tailscale-host"),
  ...hostCommon,
  rotation: rotationSchema.omit({ litellmMasterKey: true }).prefault({}),
  egress: hostEgressSchema.prefault({}),
  host: hostSchema,
  tailscale: tailscaleSchema,
  hostGateway: hostGatewaySchema.prefault({}),
  firewall: hostFirewallSchema.prefault({}),
  /** The agent's models, called directly: the first is the primary, the rest its fallbacks in order. */
  models: z.array(directModelSchema).min(1, "expected at least one model: the first is the agent's primary, the rest its fallbacks"),
  providerApiKeys: providerKeys,
  opServiceAccountToken: secretString.optional(),
  backup: backupSchema.prefault({}),
}).superRefine((cfg, ctx) => {
  checkInstances(cfg, ctx);
  checkDirectModels(cfg, ctx);
  checkExtraDomains(cfg, cfg.models, ctx);
  cfg.tailscale.admins.forEach((admin, i) => {
    if (admin.startsWith("group:") && cfg.tailscale.groups[admin] === undefined) {
      issue(ctx, ["tailscale", "admins", i], `group ${admin} is not defined in tailscale.groups`);
    }
  });
  const cutOff = outboundAllowlistProblem(cfg.firewall.outbound);
  if (cutOff) issue(ctx, ["firewall", "outbound"], cutOff);
  if (cfg.hostGateway.onePassword && cfg.opServiceAccountToken === undefined) {
    issue(ctx, ["opServiceAccountToken"], "required key is missing (hostGateway.onePassword needs the service account token)");
  }
  if (!cfg.hostGateway.onePassword && cfg.opServiceAccountToken !== undefined) {
    issue(ctx, ["opServiceAccountToken"], "set hostGateway.onePassword.vault to use it, or remove it");
  }
});

/** One schema per `openclaw:topology` value. */
export const SCHEMAS = {
  "single-vps": singleVpsSchema,
  swarm: swarmSchema,
  "tailscale-host": tailscaleHostSchema,
} as const;
export type Topology = keyof typeof SCHEMAS;
export const TOPOLOGIES = Object.keys(SCHEMAS) as Topology[];

export type SingleVpsConfig = z.output<typeof singleVpsSchema>;
export type SwarmConfig = z.output<typeof swarmSchema>;
export type SwarmNodeConfig = z.output<typeof swarmNodeSchema>;
export type TailscaleHostConfig = z.output<typeof tailscaleHostSchema>;
export type StackConfig = SingleVpsConfig | SwarmConfig | TailscaleHostConfig;
export type ConfigOf<T extends Topology> = Extract<StackConfig, { topology: T }>;
export type HostConfig = z.output<typeof hostSchema>;
export type GatewayConfig = z.output<typeof gatewaySchema>;
export type SandboxConfig = z.output<typeof sandboxSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type LiteLlmConfig = z.output<typeof litellmSchema>;
export type NetworksConfig = z.output<typeof networksSchema>;
export type IngressConfig = z.output<typeof ingressSchema>;
export type ImagesConfig = SingleVpsConfig["images"];
