/**
 * The committed Pulumi.<stack>.yaml files against the real Pulumi CLI, built
 * from the Go module proxy by scripts/build-pulumi-toolchain.sh: each loads,
 * and `pulumi config set --secret` turns a "set me" marker into ciphertext the
 * CLI decrypts. The engine runs offline: a file backend, a passphrase, no
 * update check, no plugin downloads. The pure block proves the committed files
 * hold no fake ciphertext and that the program refuses the plaintext markers.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { ConfigError, parseStackConfig } from "../infra/config/parse";
import { loadStackFile } from "../render/cli";
import { missingTools, PROJECT_ROOT, run } from "./support/tools";

const STACKS = ["single-vps", "swarm-nyc", "tailscale-host"];

/** Every `secure:` value anywhere in a parsed stack file. */
function secureValues(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(secureValues);
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) => (key === "secure" && typeof value === "string" ? [value] : secureValues(value)));
}

describe("committed stack files (pure)", () => {
  for (const stack of STACKS) {
    test(`Pulumi.${stack}.yaml ships no ciphertext (none would decrypt: each stack has its own key)`, () => {
      const doc: unknown = parseYaml(readFileSync(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8"));
      assert.deepEqual(secureValues(doc), []);
    });
  }
  test("the engine sees the markers as plaintext, so the program refuses them, naming each key and the command", () => {
    const input = loadStackFile(join(PROJECT_ROOT, "Pulumi.single-vps.yaml"), "single-vps");
    // What the engine passes: nothing is secret until `pulumi config set --secret` ran.
    assert.throws(() => parseStackConfig(input.config, new Set()), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /openclaw:providerApiKeys: must be a secret.*pulumi config set --secret --path 'openclaw:providerApiKeys\.<name>'/);
      assert.match(err.message, /openclaw:channelTokens: must be a secret/);
      return true;
    });
  });
});

// The toolchain's bin directory comes from the build script (one source for its path).
const BIN = execFileSync("bash", [join(PROJECT_ROOT, "scripts/build-pulumi-toolchain.sh"), "--bin"], { encoding: "utf8" }).trim();
process.env["PATH"] = `${BIN}:${process.env["PATH"] ?? ""}`;
const skip = missingTools("the real Pulumi CLI (scripts/build-pulumi-toolchain.sh cli)", ["pulumi"]);

describe("committed stack files in the real Pulumi CLI", { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), "engine-cli-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  /** A project directory holding Pulumi.yaml and the stack file, with its own file backend. */
  interface Project { dir: string; env: NodeJS.ProcessEnv }
  const project = (stack: string, stackFile: string): Project => {
    const dir = mkdtempSync(join(work, `${stack}-`));
    mkdirSync(join(dir, "state"));
    copyFileSync(join(PROJECT_ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
    copyFileSync(stackFile, join(dir, `Pulumi.${stack}.yaml`));
    const env = {
      PATH: process.env["PATH"],
      HOME: dir,
      PULUMI_HOME: join(dir, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "engine-cli-test-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const created = { dir, env };
    const init = pulumi(created, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
    assert.equal(init.status, 0, init.stderr);
    return created;
  };
  const pulumi = (p: Project, args: string[], input?: string) => run("pulumi", [...args, "--non-interactive"], { cwd: p.dir, env: p.env, input });

  for (const stack of STACKS) {
    test(`Pulumi.${stack}.yaml loads and decrypts (as preview does first): every key is listed`, () => {
      const p = project(stack, join(PROJECT_ROOT, `Pulumi.${stack}.yaml`));
      const listed = pulumi(p, ["config", "--show-secrets", "--json"]);
      assert.equal(listed.status, 0, listed.stderr);
      const committed = (parseYaml(readFileSync(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
      const keys = Object.keys(JSON.parse(listed.stdout) as Record<string, unknown>);
      for (const key of Object.keys(committed)) assert.ok(keys.includes(key), `${key} missing from ${keys.join(", ")}`);
    });
  }

  test("`pulumi config set --secret --path` replaces a marker with ciphertext the CLI decrypts", () => {
    const p = project("single-vps", join(PROJECT_ROOT, "Pulumi.single-vps.yaml"));
    const key = "sk-ant-engine-cli-test-0123456789";
    const set = pulumi(p, ["config", "set", "--secret", "--path", "openclaw:providerApiKeys.anthropic"], key);
    assert.equal(set.status, 0, set.stderr);
    const file = readFileSync(join(p.dir, "Pulumi.single-vps.yaml"), "utf8");
    assert.ok(!file.includes(key), "the plaintext key reached the stack file");
    const written = (parseYaml(file) as { config: Record<string, { anthropic?: unknown }> }).config;
    assert.match(secureValues(written["openclaw:providerApiKeys"]).join(), /^v1:/);
    const listed = JSON.parse(pulumi(p, ["config", "--json"]).stdout) as Record<string, { secret: boolean; value?: string }>;
    assert.equal(listed["openclaw:providerApiKeys"]?.secret, true);
    assert.equal(listed["openclaw:channelTokens"]?.secret, false, "the untouched marker stays plaintext, which the program refuses");
    const got = pulumi(p, ["config", "get", "--path", "openclaw:providerApiKeys.anthropic"]);
    assert.equal(got.stdout.trim(), key);
  });

  test("the former `secure:` placeholder is refused by the CLI (why the markers changed)", () => {
    const file = join(work, "placeholder.yaml");
    writeFileSync(file, "config:\n  openclaw:providerApiKeys:\n    anthropic:\n      secure: v1:placeholder:replace-with-pulumi-config-set-secret\n");
    const p = project("placeholder", file);
    const listed = pulumi(p, ["config", "--show-secrets", "--json"]);
    assert.notEqual(listed.status, 0);
    assert.match(listed.stderr, /could not decrypt configuration values: bad value: illegal base64/);
  });
});
