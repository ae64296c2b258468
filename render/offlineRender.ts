/**
 * Runs the real program (stacks/index.ts, unchanged) under the Pulumi SDK's
 * mocks and records what it registers: every resource with its inputs as the
 * provider would receive them, its parent and dependencies, every placed file
 * and the stack outputs. Nothing contacts a host; no credentials are needed.
 * Secret values never leave this module in plaintext: they become "[secret]".
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { deserializeProperties, specialResourceSig, specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { placedFiles, resetPlacedFiles } from "../infra/files";

export const SECRET_PLACEHOLDER = "[secret]";

export interface RenderedResource {
  type: string;
  name: string;
  urn: string;
  parent: string | null;
  parentUrn: string | null;
  custom: boolean;
  inputs: Record<string, unknown>;
  dependsOn: string[];
  /** Name of the provider resource the resource was registered with, or null for the default provider. */
  provider: string | null;
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

/**
 * How a secret appears in the render. `placeholder` (the render CLI) hides it
 * entirely; `fingerprint` (tests only, in memory) shows a digest, so a test
 * can see that a secret config value reached a resource without its plaintext.
 */
export type SecretView = "placeholder" | "fingerprint";

function showSecret(plain: unknown, view: SecretView): string {
  return view === "placeholder" ? SECRET_PLACEHOLDER : `[secret sha256:${createHash("sha256").update(JSON.stringify(plain) ?? "").digest("hex").slice(0, 16)}]`;
}

/** Replaces every secret in a deserialized property value by the placeholder. */
export function redactSecrets(value: unknown, view: SecretView = "placeholder"): unknown {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, view));
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[specialSigKey] === specialSecretSig) return showSecret(record["value"], view);
    if (record[specialSigKey] === specialResourceSig) return { resourceRef: record["urn"] };
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, redactSecrets(v, view)]));
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

async function resolveSecretAware(value: pulumi.Input<unknown>, view: SecretView): Promise<unknown> {
  const output = pulumi.output(value as pulumi.Input<unknown>) as pulumi.Output<unknown>;
  const [plain, secret] = await Promise.all([
    new Promise<unknown>((resolve) => output.apply((v) => { resolve(v); return v; })),
    pulumi.isSecret(output),
  ]);
  return secret ? showSecret(plain, view) : plain;
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
export interface RenderOptions {
  secrets?: SecretView;
  /** Filled with the name of each resource as it registers: a caller can see what registered before the program threw. */
  registered?: string[];
}

export async function renderProgram(input: RenderInput, loadProgram: () => Promise<() => Promise<unknown>>, options: RenderOptions = {}): Promise<Render> {
  const secrets = options.secrets ?? "placeholder";
  // Names are resolved once every resource is known: parent and dependencies recorded as URNs.
  const recorded: Omit<RenderedResource, "parent">[] = [];
  await pulumi.runtime.setMocks({
    newResource: async (args) => ({ id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...mockOutputs(args) } }),
    call: async (args) => mockCall(args),
  }, input.project, input.stack, false);

  const monitor = settings.getMonitor();
  if (!(monitor instanceof MockMonitor)) throw new Error("setMocks did not install the SDK's MockMonitor; update render/offlineRender.ts");
  const mock: MockMonitor = monitor;
  const register = mock.registerResource.bind(mock);
  const namesByUrn = new Map<string, string>();
  mock.registerResource = async (req: RegisterResourceRequest, callback: (err: unknown, resp: unknown) => void) => {
    const type = req.getType();
    const name = req.getName();
    options.registered?.push(name);
    return register(req, (err, resp) => {
      const urn = (resp as { getUrn?: () => string } | undefined)?.getUrn?.() ?? "";
      namesByUrn.set(urn, name);
      recorded.push({
        type,
        name,
        urn,
        parentUrn: req.getParent() || null,
        custom: req.getCustom(),
        inputs: redactSecrets(deserializeProperties(req.getObject()!, true), secrets) as Record<string, unknown>,
        dependsOn: [...new Set(req.getDependenciesList())],
        // A provider reference is `<urn>::<id>`.
        provider: req.getProvider() ? req.getProvider().split("::").slice(0, -1).join("::") : null,
      });
      callback(err, resp);
    });
  };

  pulumi.runtime.setAllConfig(input.config, input.secretKeys);
  resetPlacedFiles();
  const program = await loadProgram();
  const exported = (await program()) as Record<string, pulumi.Input<unknown>>;

  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) outputs[key] = await resolveSecretAware(value, secrets);
  const files: RenderedFile[] = [];
  for (const f of placedFiles()) {
    const content = await resolveSecretAware(f.content, secrets);
    files.push({ target: f.target, path: f.path, mode: f.mode, owner: f.owner, content: String(content) });
  }
  await settings.disconnect();

  const nameOf = (urn: string) => namesByUrn.get(urn) ?? urn;
  return {
    resources: recorded.map((r) => ({ ...r, parent: r.parentUrn ? nameOf(r.parentUrn) : null, dependsOn: r.dependsOn.map(nameOf), provider: r.provider ? nameOf(r.provider) : null })),
    files,
    outputs,
  };
}
