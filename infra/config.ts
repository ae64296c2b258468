/**
 * The stack config model: every `openclaw:` key, its type, its default and its
 * checks. `parseStackConfig` is pure (no engine needed) so tests drive it with
 * tables of configs; the entry point calls it before registering anything.
 */
import * as pulumi from "@pulumi/pulumi";
import { isIP } from "node:net";
import { z } from "zod";
import { imagePinProblem } from "./images";
import { DEFAULT_IMAGES, OPENCLAW_VERSION, SUPPORTED_OPENCLAW_VERSIONS } from "./versions";

export const NAMESPACE = "openclaw";

/** Keys whose values must arrive as Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["providerApiKeys", "channelTokens", "alertWebhookUrl", "opServiceAccountToken"] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

// ---------------------------------------------------------------- primitives

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, "expected a lowercase name: letters, digits and '-' (2-32 chars)");
const port = z.number().int("expected a whole number").min(1, "expected a port from 1 to 65535").max(65535, "expected a port from 1 to 65535");
const ipAddress = z.string().refine((v) => isIP(v) !== 0, "expected an IPv4 or IPv6 address");

function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address ?? "");
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}
const ipv4Cidr = z.string().refine((v) => isCidr(v) && isIP(v.split("/")[0] ?? "") === 4, "expected an IPv4 CIDR such as 172.30.10.0/24");
const addressOrCidr = z.string().refine((v) => isIP(v) !== 0 || isCidr(v), "expected an IP address or CIDR");
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

// ---------------------------------------------------------------- shared parts

/** LLM providers LiteLLM can route to, with the API domains their egress needs. */
export const PROVIDERS = {
  anthropic: { domains: [".anthropic.com"], litellmPrefix: "anthropic" },
  openai: { domains: [".openai.com"], litellmPrefix: "openai" },
  groq: { domains: [".groq.com"], litellmPrefix: "groq" },
  gemini: { domains: [".googleapis.com"], litellmPrefix: "gemini" },
  xai: { domains: [".x.ai"], litellmPrefix: "xai" },
  voyage: { domains: [".voyageai.com"], litellmPrefix: "voyage" },
} as const;
export type ProviderName = keyof typeof PROVIDERS;
const providerName = z.enum(Object.keys(PROVIDERS) as [ProviderName, ...ProviderName[]]);

const hostSchema = z.strictObject({
  name,
  address: ipAddress,
  sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "expected a Unix user name").default("deploy"),
  sshPort: port.default(22),
  hostKey: sshHostKey,
  memoryMb: memoryMb.default(8192),
});

const imagesSchema = z.strictObject({
  gateway: image.optional(),
  egressProxy: image.optional(),
  litellm: image.optional(),
  socketProxy: image.optional(),
  caddy: image.optional(),
  cloudflared: image.optional(),
}).prefault({}).transform((overrides) => ({ ...DEFAULT_IMAGES, ...overrides }));

const adminSchema = z.strictObject({
  addresses: z.array(addressOrCidr).min(1, "expected at least one admin address (SSH is allowed only from these)"),
  sshPort: port.default(22),
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

const modelSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, "expected a model alias such as anthropic/claude-opus-4-6"),
  provider: providerName,
  model: z.string().min(1),
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
  extraDomains: z.array(domain.or(z.string().regex(/^\.[a-z0-9.-]+$/))).default([]),
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
  openclawVersion: z.string().refine((v) => SUPPORTED_OPENCLAW_VERSIONS.includes(v),
    `expected a supported OpenClaw release (${SUPPORTED_OPENCLAW_VERSIONS.join(", ")}): the config schema is strict per release`).default(OPENCLAW_VERSION),
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
  internal: ipv4Cidr.default("172.30.10.0/24"),
  proxy: ipv4Cidr.default("172.30.11.0/24"),
  egress: ipv4Cidr.default("172.30.12.0/24"),
});

const cloudflareZone = {
  domain,
  cloudflareZoneId: z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-hex-digit Cloudflare zone id"),
};
const ingressSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("caddy"), ...cloudflareZone }),
  z.strictObject({
    mode: z.literal("cloudflare-tunnel"),
    ...cloudflareZone,
    cloudflareAccountId: z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-hex-digit Cloudflare account id"),
  }),
], { error: (iss) => `expected ingress.mode "caddy" or "cloudflare-tunnel", got ${JSON.stringify((iss.input as { mode?: unknown } | undefined)?.mode) ?? "nothing"}` });

const backupSchema = z.strictObject({
  repository: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "expected an absolute path").default("/var/backups/openclaw-restic"),
  onCalendar: z.string().regex(/^[A-Za-z0-9*:,./ -]+$/, "expected a systemd OnCalendar expression").default("*-*-* 03:00:00"),
  keepDaily: z.number().int().min(1).default(14),
});

const providerKeys = z.partialRecord(providerName, secretString);

interface ModelsAndKeys {
  litellm: { models: { name: string; provider: ProviderName; fallbacks: string[] }[] };
  providerApiKeys: Partial<Record<ProviderName, unknown>>;
}

/** Every model's provider needs an API key, and fallbacks must name configured models. */
function checkModelsHaveKeys(cfg: ModelsAndKeys, ctx: z.RefinementCtx): void {
  const aliases = new Set(cfg.litellm.models.map((m) => m.name));
  cfg.litellm.models.forEach((model, i) => {
    if (cfg.providerApiKeys[model.provider] === undefined) {
      ctx.addIssue({ code: "custom", path: ["providerApiKeys", model.provider],
        message: `required key is missing (model "${model.name}" uses provider ${model.provider})` });
    }
    model.fallbacks.forEach((fallback, j) => {
      if (!aliases.has(fallback)) {
        ctx.addIssue({ code: "custom", path: ["litellm", "models", i, "fallbacks", j],
          message: `expected the name of a configured model, got "${fallback}"` });
      }
    });
  });
}

interface InstancesAndTokens {
  gateway: { instances: { name: string }[] };
  channelTokens: Record<string, unknown>;
}

/** Gateway instance names are unique, and each channel token belongs to one. */
function checkInstances(cfg: InstancesAndTokens, ctx: z.RefinementCtx): void {
  const names = cfg.gateway.instances.map((i) => i.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) {
      ctx.addIssue({ code: "custom", path: ["gateway", "instances", i, "name"], message: `duplicate instance name "${n}"` });
    }
  });
  for (const key of Object.keys(cfg.channelTokens)) {
    if (!names.includes(key)) {
      ctx.addIssue({ code: "custom", path: ["channelTokens", key], message: `expected a gateway instance name (${names.join(", ")})` });
    }
  }
}

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
  checkModelsHaveKeys(cfg, ctx);
  checkInstances(cfg, ctx);
});

const swarmNodeSchema = hostSchema.extend({ role: z.enum(["manager", "worker"]) });
const swarmSchema = z.strictObject({
  topology: z.literal("swarm"),
  ...common,
  nodes: z.array(swarmNodeSchema).min(1, "expected at least one swarm node"),
  trustedNode: name,
  standbyNode: name.optional(),
  overlaySubnet: ipv4Cidr.default("10.20.0.0/24"),
  nfs: z.strictObject({
    server: name,
    clients: z.array(name).default([]),
    exportPath: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "expected an absolute path").default("/captain/data"),
  }).optional(),
  domain,
  cloudflareZoneId: cloudflareZone.cloudflareZoneId,
  litellm: litellmSchema,
  providerApiKeys: providerKeys,
}).superRefine((cfg, ctx) => {
  const names = cfg.nodes.map((n) => n.name);
  const mustBeNode = (value: string | undefined, path: (string | number)[]) => {
    if (value !== undefined && !names.includes(value)) {
      ctx.addIssue({ code: "custom", path, message: `expected one of the nodes (${names.join(", ")}), got "${value}"` });
    }
  };
  mustBeNode(cfg.trustedNode, ["trustedNode"]);
  mustBeNode(cfg.standbyNode, ["standbyNode"]);
  if (cfg.standbyNode !== undefined && cfg.standbyNode === cfg.trustedNode) {
    ctx.addIssue({ code: "custom", path: ["standbyNode"], message: "expected a node other than trustedNode" });
  }
  mustBeNode(cfg.nfs?.server, ["nfs", "server"]);
  cfg.nfs?.clients.forEach((c, i) => mustBeNode(c, ["nfs", "clients", i]));
  checkModelsHaveKeys(cfg, ctx);
  checkInstances(cfg, ctx);
});

// ---------------------------------------------------------------- tailscale-host (seed 003/004)

const tailnetGroup = z.string().regex(/^group:[a-z0-9-]+$/, "expected a group such as group:openclaw-admins");
const tailnetUser = z.string().regex(/^[^\s@",]+@[^\s@",]+$/, "expected a tailnet login such as alice@example.com");
const tailscaleSchema = z.strictObject({
  /** The machine name on the tailnet: the gateway is https://<hostname>.<tailnetDomain>. */
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

const hostGatewaySchema = z.strictObject({
  tasksMax: z.number().int().min(64).max(32768).default(512),
  /** Seed 003 appendix B: secrets resolved by `op run` from this 1Password vault instead of files. */
  onePassword: z.strictObject({ vault: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, "expected a 1Password vault name") }).optional(),
});

const tailscaleHostSchema = z.strictObject({
  topology: z.literal("tailscale-host"),
  ...common,
  host: hostSchema,
  tailscale: tailscaleSchema,
  hostGateway: hostGatewaySchema.prefault({}),
  opServiceAccountToken: secretString.optional(),
  backup: backupSchema.prefault({}),
}).superRefine((cfg, ctx) => {
  checkInstances(cfg, ctx);
  cfg.tailscale.admins.forEach((admin, i) => {
    if (admin.startsWith("group:") && cfg.tailscale.groups[admin] === undefined) {
      ctx.addIssue({ code: "custom", path: ["tailscale", "admins", i], message: `group ${admin} is not defined in tailscale.groups` });
    }
  });
  if (cfg.hostGateway.onePassword && cfg.opServiceAccountToken === undefined) {
    ctx.addIssue({ code: "custom", path: ["opServiceAccountToken"], message: "required key is missing (hostGateway.onePassword needs the service account token)" });
  }
  if (!cfg.hostGateway.onePassword && cfg.opServiceAccountToken !== undefined) {
    ctx.addIssue({ code: "custom", path: ["opServiceAccountToken"], message: "set hostGateway.onePassword.vault to use it, or remove it" });
  }
});

const SCHEMAS = {
  "single-vps": singleVpsSchema,
  swarm: swarmSchema,
  "tailscale-host": tailscaleHostSchema,
} as const;
export type Topology = keyof typeof SCHEMAS;
export const TOPOLOGIES = Object.keys(SCHEMAS) as Topology[];

export type SingleVpsConfig = z.output<typeof singleVpsSchema>;
export type SwarmConfig = z.output<typeof swarmSchema>;
export type TailscaleHostConfig = z.output<typeof tailscaleHostSchema>;
export type StackConfig = SingleVpsConfig | SwarmConfig | TailscaleHostConfig;
export type HostConfig = z.output<typeof hostSchema>;
export type GatewayConfig = z.output<typeof gatewaySchema>;
export type LiteLlmConfig = z.output<typeof litellmSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type ImagesConfig = z.output<typeof imagesSchema>;
export type NetworksConfig = z.output<typeof networksSchema>;
export type IngressConfig = z.output<typeof ingressSchema>;

const ALL_KEYS = new Set(Object.values(SCHEMAS).flatMap((s) => Object.keys(shapeOf(s))));

function shapeOf(schema: z.ZodType): Record<string, unknown> {
  const inner = schema as unknown as { shape?: Record<string, unknown>; def?: { in?: z.ZodType; schema?: z.ZodType } };
  if (inner.shape) return inner.shape;
  const wrapped = inner.def?.in ?? inner.def?.schema;
  return wrapped ? shapeOf(wrapped) : {};
}

// ---------------------------------------------------------------- parsing

function keyPath(path: readonly PropertyKey[]): string {
  const [top, ...rest] = path;
  return `${NAMESPACE}:${String(top)}` + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string[] {
  const at = (extra: PropertyKey[] = []) => keyPath([...issue.path, ...extra]);
  const received = issue.path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined), input);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((k) => `${at([k])}: unknown key (a typo?)`);
    case "invalid_type":
      return [received === undefined
        ? `${at()}: required key is missing (expected ${issue.expected})`
        : `${at()}: expected ${issue.expected}, got ${describeType(received)}`];
    case "invalid_value":
      return [`${at()}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeType(received)}`];
    case "invalid_union":
      return [`${at()}: ${issue.message}`];
    default:
      return [`${at()}: ${issue.message}`];
  }
}

/** Turns raw engine config (`openclaw:key` → string, objects as JSON) into plain values. */
function decodeRaw(raw: Record<string, string>, problems: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    const key = fullKey.slice(NAMESPACE.length + 1);
    if (/^\s*[[{]/.test(text)) {
      try {
        values[key] = JSON.parse(text);
      } catch {
        problems.push(`${fullKey}: not valid structured config (expected a YAML mapping or list)`);
      }
    } else {
      values[key] = text;
    }
  }
  return values;
}

/**
 * Validates the whole `openclaw:` namespace at once. Throws ONE ConfigError
 * listing every problem by key path, so a user fixes them all in one pass.
 */
export function parseStackConfig(raw: Record<string, string>, secretKeys: ReadonlySet<string>): StackConfig {
  const problems: string[] = [];
  const values = decodeRaw(raw, problems);

  for (const key of Object.keys(values)) {
    if (!ALL_KEYS.has(key)) problems.push(`${NAMESPACE}:${key}: unknown key under ${NAMESPACE}: (a typo?)`);
  }
  for (const key of SECRET_KEYS) {
    if (values[key] !== undefined && !secretKeys.has(`${NAMESPACE}:${key}`)) {
      problems.push(`${NAMESPACE}:${key}: must be a secret, but is stored in plaintext: ` +
        `remove it and set it with \`pulumi config set --secret ${key === "providerApiKeys" || key === "channelTokens" ? `--path '${NAMESPACE}:${key}.<name>'` : `${NAMESPACE}:${key}`} <value>\``);
    }
  }

  const topology = values["topology"];
  const schema = typeof topology === "string" ? SCHEMAS[topology as Topology] : undefined;
  if (!schema) {
    problems.push(topology === undefined
      ? `${NAMESPACE}:topology: required key is missing (expected one of ${TOPOLOGIES.map((t) => `"${t}"`).join(", ")})`
      : `${NAMESPACE}:topology: expected one of ${TOPOLOGIES.map((t) => `"${t}"`).join(", ")}, got ${describeType(topology)}`);
    throw new ConfigError(problems);
  }

  const knownHere = new Set(Object.keys(shapeOf(schema)));
  const scoped = Object.fromEntries(Object.entries(values).filter(([k]) => knownHere.has(k) || !ALL_KEYS.has(k)));
  for (const key of Object.keys(values)) {
    if (ALL_KEYS.has(key) && !knownHere.has(key)) {
      problems.push(`${NAMESPACE}:${key}: not used by the ${topology} topology`);
    }
  }
  const result = schema.safeParse(Object.fromEntries(Object.entries(scoped).filter(([k]) => ALL_KEYS.has(k))));
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(issue, scoped));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}
