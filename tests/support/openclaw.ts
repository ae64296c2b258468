/**
 * The OpenClaw CLI as an oracle: `config validate` and `security audit --json`
 * on a config file, offline, in a throwaway state dir, with the CLI of the
 * release the config was rendered for (the deployment's openclawVersion).
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTool, openclawCli } from "./tools";

export interface AuditFinding { checkId: string; severity: string; title: string; detail: string }
export interface OracleResult {
  valid: boolean;
  validateOutput: string;
  /** null when the config is invalid and the audit refused to read it. */
  summary: { critical: number; warn: number; info: number } | null;
  findings: AuditFinding[];
}

function exec(release: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(findTool("node24")!, [openclawCli(release), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (status) => resolve({ status: status ?? 1, stdout, stderr }));
  });
}

/**
 * Runs validate and audit on `configText`. Secret files the config points to
 * (secrets.providers.*.path) are recreated in the temp dir with strong random
 * values, since the deployed paths (/run/secrets/...) do not exist here.
 */
export async function checkOpenclawConfig(configText: string, release: string, extraEnv: Record<string, string> = {}): Promise<OracleResult> {
  const home = mkdtempSync(join(tmpdir(), "openclaw-oracle-"));
  chmodSync(home, 0o700);
  const stateDir = join(home, ".openclaw");
  mkdirSync(stateDir, { mode: 0o700 });
  const secretsDir = join(home, "secrets");
  mkdirSync(secretsDir, { mode: 0o700 });
  let text = configText;
  const parsed = JSON.parse(configText) as { secrets?: { providers?: Record<string, { path?: string }> }; channels?: { telegram?: { tokenFile?: string } } };
  const paths = new Set<string>();
  for (const provider of Object.values(parsed.secrets?.providers ?? {})) if (provider.path) paths.add(provider.path);
  if (parsed.channels?.telegram?.tokenFile) paths.add(parsed.channels.telegram.tokenFile);
  for (const path of paths) {
    const local = join(secretsDir, path.replace(/\//g, "_"));
    writeFileSync(local, path.includes("telegram") ? `123456789:${randomBytes(20).toString("hex")}` : randomBytes(32).toString("hex"), { mode: 0o600 });
    text = text.split(JSON.stringify(path)).join(JSON.stringify(local));
  }
  const configPath = join(stateDir, "openclaw.json");
  writeFileSync(configPath, text, { mode: 0o600 });
  const env = { PATH: process.env["PATH"], HOME: home, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: configPath, NO_COLOR: "1", ...extraEnv };
  const [validate, audit] = await Promise.all([exec(release, ["config", "validate", "--json"], env), exec(release, ["security", "audit", "--json"], env)]);
  const validJson = /\{[\s\S]*\}/.exec(validate.stdout)?.[0] ?? "{}";
  const valid = (JSON.parse(validJson) as { valid?: boolean }).valid === true && validate.status === 0;
  const auditJson = JSON.parse(/\{[\s\S]*\}/.exec(audit.stdout)?.[0] ?? "{}") as { summary?: OracleResult["summary"]; findings?: AuditFinding[] };
  if (!auditJson.summary && valid) throw new Error(`openclaw security audit gave no summary: ${audit.stderr.slice(0, 2000)}`);
  return { valid, validateOutput: validate.stdout + validate.stderr, summary: auditJson.summary ?? null, findings: auditJson.findings ?? [] };
}

export function describeFindings(result: OracleResult): string {
  return result.findings.filter((f) => f.severity !== "info").map((f) => `${f.severity} ${f.checkId}: ${f.title}`).join("\n") || "(none)";
}
