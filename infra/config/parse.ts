/**
 * Turns the engine's raw config (`openclaw:key` → string, objects as JSON)
 * into a validated StackConfig. Pure: tests drive it with tables of configs;
 * the program calls it (./engine.ts) before registering anything. Every
 * problem is collected into ONE ConfigError naming each key path.
 */
import { z } from "zod";
import { SCHEMAS, SECRET_KEYS, StackConfig, Topology, TOPOLOGIES } from "./schema";

export const NAMESPACE = "openclaw";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** `openclaw:egress.extraDomains[0]` for the path ["egress", "extraDomains", 0]. */
export function keyPath(path: readonly PropertyKey[]): string {
  const [top, ...rest] = path;
  return `${NAMESPACE}:${String(top)}` + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

const ALL_KEYS = new Set(Object.values(SCHEMAS).flatMap((s) => Object.keys(shapeOf(s))));

function shapeOf(schema: z.ZodType): Record<string, unknown> {
  const inner = schema as unknown as { shape?: Record<string, unknown>; def?: { in?: z.ZodType; schema?: z.ZodType } };
  if (inner.shape) return inner.shape;
  const wrapped = inner.def?.in ?? inner.def?.schema;
  return wrapped ? shapeOf(wrapped) : {};
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
