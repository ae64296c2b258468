/**
 * `npm run render -- --stack <stack> [--config <file>] --out <dir>`
 *
 * The offline render: the real program under the SDK's mocks, with the config
 * of Pulumi.<stack>.yaml (or FILE, same format). Writes resources.json,
 * files.json (+ the files themselves) and outputs.json to <dir>, and prints a
 * summary for a person. These flags and files are a contract other checks
 * read: extend them, never change them.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError, NAMESPACE } from "../infra/config/parse";
import { SECRET_KEYS } from "../infra/config/schema";
import { Render, renderProgram, RenderInput, RenderOptions, SECRET_PLACEHOLDER } from "./offlineRender";

const PROJECT_ROOT = resolve(__dirname, "..");

export class UsageError extends Error {}

interface Args {
  stack: string;
  config?: string;
  out: string;
}

export function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== "--stack" && flag !== "--config" && flag !== "--out") throw new UsageError(`unknown argument ${flag}`);
    if (value === undefined || value.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    args[flag.slice(2) as keyof Args] = value;
    i++;
  }
  if (!args.stack) throw new UsageError("--stack is required");
  if (!args.out) throw new UsageError("--out is required");
  return args as Args;
}

function projectName(): string {
  const project = parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as { name: string };
  return project.name;
}

/**
 * Reads a Pulumi.<stack>.yaml-format file into engine-style config. Encrypted
 * (`secure:`) values become "[secret]"; keys the program reads as secrets are
 * marked secret even in plaintext, so tests can feed known values.
 */
export function loadStackFile(file: string, stack: string): RenderInput {
  const doc = (parseYaml(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys = new Set<string>(SECRET_KEYS.map((k) => `${NAMESPACE}:${k}`));
  let hasSecure = false;
  const decode = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(decode);
    if (value !== null && typeof value === "object") {
      const record = value as Record<string, unknown>;
      if (Object.keys(record).length === 1 && typeof record["secure"] === "string") {
        hasSecure = true;
        return SECRET_PLACEHOLDER;
      }
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decode(v)]));
    }
    return value;
  };
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    hasSecure = false;
    const decoded = decode(value);
    if (hasSecure) secretKeys.add(key);
    config[key] = typeof decoded === "string" ? decoded : JSON.stringify(decoded);
  }
  return { stack, project: projectName(), config, secretKeys: [...secretKeys].filter((k) => k in config) };
}

export async function renderStack(input: RenderInput, options: RenderOptions = {}): Promise<Render> {
  return renderProgram(input, async () => {
    // stacks/index.ts is `export =`: under ESM interop the function is `default`.
    const loaded = (await import("../stacks/index")) as unknown as { default?: () => Promise<unknown> } & (() => Promise<unknown>);
    return loaded.default ?? loaded;
  }, options);
}

/** Writes the contract files; `file` paths in files.json are relative to dir. */
export function writeRender(render: Render, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = render.files.map((f) => {
    const relative = join("files", f.target, f.path);
    mkdirSync(dirname(join(dir, relative)), { recursive: true });
    writeFileSync(join(dir, relative), f.content);
    return { target: f.target, path: f.path, mode: f.mode, owner: f.owner, file: relative };
  });
  const resources = render.resources.map(({ type, name, parent, custom, inputs, dependsOn, urn, provider }) => ({ type, name, parent, custom, inputs, dependsOn, urn, provider }));
  writeFileSync(join(dir, "resources.json"), JSON.stringify(resources, null, 2) + "\n");
  writeFileSync(join(dir, "files.json"), JSON.stringify(files, null, 2) + "\n");
  writeFileSync(join(dir, "outputs.json"), JSON.stringify(render.outputs, null, 2) + "\n");
}

export function summarize(render: Render): string {
  const lines: string[] = ["Resources:"];
  const children = new Map<string | null, typeof render.resources>();
  for (const r of render.resources) children.set(r.parentUrn, [...(children.get(r.parentUrn) ?? []), r]);
  const walk = (parentUrn: string | null, depth: number) => {
    for (const r of children.get(parentUrn) ?? []) {
      lines.push(`${"  ".repeat(depth + 1)}${r.type}  ${r.name}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(null, 0);
  lines.push(`  (${render.resources.length} resources)`, "Files:");
  const targets = [...new Set(render.files.map((f) => f.target))].sort();
  for (const target of targets) {
    lines.push(`  ${target}`);
    for (const f of render.files.filter((x) => x.target === target)) lines.push(`    ${f.mode} ${f.owner.padEnd(12)} ${f.path}`);
  }
  lines.push("Outputs:", ...Object.keys(render.outputs).map((k) => `  ${k}`));
  return lines.join("\n");
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`render: ${err.message}\nusage: npm run render -- --stack <stack> [--config <file>] --out <dir>`);
    return 2;
  }
  const file = resolve(args.config ?? join(PROJECT_ROOT, `Pulumi.${args.stack}.yaml`));
  let input: RenderInput;
  try {
    input = loadStackFile(file, args.stack);
  } catch (err) {
    console.error(`render: cannot read stack config ${file}: ${(err as Error).message}`);
    return 1;
  }
  const started = Date.now();
  let render: Render;
  try {
    render = await renderStack(input);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`render: ${file}: ${err.message}`);
      return 1;
    }
    console.error(`render: ${(err as Error).message}`);
    return 1;
  }
  writeRender(render, resolve(args.out));
  console.log(summarize(render));
  console.log(`Rendered stack ${args.stack} to ${args.out} in ${Date.now() - started} ms`);
  return 0;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
