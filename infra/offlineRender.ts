/**
 * Runs the real program (infra/index.ts, unchanged) under the Pulumi SDK's
 * mocks and records what it registers: every resource with its inputs as the
 * provider would receive them, its parent and dependencies, every placed file
 * and the stack outputs. Nothing contacts a host; no credentials are needed.
 * Secret values never leave this module in plaintext: they become "[secret]".
 */
import * as pulumi from "@pulumi/pulumi";
import { deserializeProperties } from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { placedFiles, resetPlacedFiles } from "./placedFiles";

export const SECRET_PLACEHOLDER = "[secret]";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RenderedResource {
  type: string;
  name: string;
  urn: string;
  parent: string | null;
  parentUrn: string | null;
  custom: boolean;
  inputs: Record<string, unknown>;
  dependsOn: string[];
}

export interface RenderedFile {
  target: string;
  path: string;
  mode: string;
  owner: string;
  content: string;
}

export interface Render {
  resources: RenderedResource[];
  files: RenderedFile[];
  outputs: Record<string, unknown>;
}

/** Replaces every secret in a deserialized property value by the placeholder. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) return SECRET_PLACEHOLDER;
    if (record[SIG_KEY] === RESOURCE_REF_SIG) return { resourceRef: record["urn"] };
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, redactSecrets(v)]));
  }
  return value;
}

/** Outputs a mocked resource reports beyond its inputs: ids and generated values. */
function mockOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const fake = (what: string) => `mock-${args.name}-${what}`;
  switch (args.type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: pulumi.secret(fake("password")), bcryptHash: pulumi.secret(fake("bcrypt")) };
    case "random:index/randomBytes:RandomBytes":
      return { base64: pulumi.secret(Buffer.from(fake("bytes")).toString("base64")), hex: pulumi.secret(Buffer.from(fake("bytes")).toString("hex")) };
    case "docker:index/network:Network":
      return { name: args.inputs["name"] ?? args.name };
    case "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared":
      return { accountTag: args.inputs["accountId"], tunnelId: fake("tunnel-id") };
    case "tailscale:index/tailnetKey:TailnetKey":
      return { key: pulumi.secret(fake("tailnet-key")) };
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

function mockCall(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  switch (args.token) {
    case "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken":
      return { token: "mock-tunnel-token", accountId: args.inputs["accountId"], tunnelId: args.inputs["tunnelId"] };
    default:
      throw new Error(`the offline render has no mock for the invoke ${args.token}`);
  }
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): unknown;
  getDependenciesList(): string[];
}

interface Monitor {
  registerResource(req: RegisterRequest, callback: (err: unknown, resp: unknown) => void): Promise<void>;
}

async function resolveSecretAware(value: pulumi.Input<unknown>): Promise<unknown> {
  const output = pulumi.output(value as pulumi.Input<unknown>) as pulumi.Output<unknown>;
  const [plain, secret] = await Promise.all([
    new Promise<unknown>((resolve) => output.apply((v) => { resolve(v); return v; })),
    pulumi.isSecret(output),
  ]);
  return secret ? SECRET_PLACEHOLDER : plain;
}

export interface RenderInput {
  stack: string;
  project: string;
  /** Engine-style config: `ns:key` → string (objects as JSON). */
  config: Record<string, string>;
  /** Keys whose values are secrets. */
  secretKeys: string[];
}

/**
 * Renders one program run. Throws what the program throws (a ConfigError for
 * invalid config) before anything is recorded.
 */
export async function renderProgram(input: RenderInput, loadProgram: () => Promise<() => Promise<unknown>>): Promise<Render> {
  // Names are resolved once every resource is known: parent and dependencies recorded as URNs.
  const recorded: Omit<RenderedResource, "parent">[] = [];
  await pulumi.runtime.setMocks({
    newResource: async (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...mockOutputs(args) } }),
    call: async (args) => mockCall(args),
  }, input.project, input.stack, false);

  const monitor = settings.getMonitor() as unknown as Monitor;
  const register = monitor.registerResource.bind(monitor);
  const namesByUrn = new Map<string, string>();
  monitor.registerResource = async (req, callback) => {
    const type = req.getType();
    const name = req.getName();
    return register(req, (err, resp) => {
      const urn = (resp as { getUrn?: () => string } | undefined)?.getUrn?.() ?? "";
      namesByUrn.set(urn, name);
      recorded.push({
        type,
        name,
        urn,
        parentUrn: req.getParent() || null,
        custom: req.getCustom(),
        inputs: redactSecrets(deserializeProperties(req.getObject() as never, true)) as Record<string, unknown>,
        dependsOn: [...new Set(req.getDependenciesList())],
      });
      callback(err, resp);
    });
  };

  pulumi.runtime.setAllConfig(input.config, input.secretKeys);
  resetPlacedFiles();
  const program = await loadProgram();
  const exported = (await program()) as Record<string, pulumi.Input<unknown>>;

  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) outputs[key] = await resolveSecretAware(value);
  const files: RenderedFile[] = [];
  for (const f of placedFiles()) {
    const content = await resolveSecretAware(f.content);
    files.push({ target: f.target, path: f.path, mode: f.mode, owner: f.owner, content: String(content) });
  }
  await settings.disconnect();

  const nameOf = (urn: string) => namesByUrn.get(urn) ?? urn;
  return {
    resources: recorded.map((r) => ({ ...r, parent: r.parentUrn ? nameOf(r.parentUrn) : null, dependsOn: r.dependsOn.map(nameOf) })),
    files,
    outputs,
  };
}
