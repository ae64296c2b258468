/**
 * Gateway: one OpenClaw gateway instance in a container or Swarm service.
 * Its token is a RandomPassword delivered as a file (never in openclaw.json,
 * never in env, never on a command line); openclaw.json and SOUL.md are
 * mounted read-only, so an agent cannot rewrite its own config or rules.
 * Sandboxes run through DOCKER_HOST = the socket proxy; egress goes through
 * the egress proxy.
 */
import * as pulumi from "@pulumi/pulumi";
import { generatedSecret } from "../infra/secrets";
import { deployWorkload, NetworkAttachment, nodeHttpHealthcheck, WorkloadTarget } from "../infra/workload";
import { GatewayExposure, renderOpenclawConfig, renderSoul } from "./openclawConfig";

/** The official image runs as uid 1000 with HOME=/home/node. */
export const GATEWAY_UID = 1000;
export const GATEWAY_HOME = "/home/node";
export const GATEWAY_CONFIG_PATH = "/etc/openclaw/openclaw.json";
const SECRETS_DIR = "/run/secrets";

export interface GatewayArgs {
  image: pulumi.Input<string>;
  port: number;
  exposure: GatewayExposure;
  /** Root of this instance's host directories (workspace, sandboxes). */
  dataRoot: string;
  /** Docker volume name holding the state dir. */
  stateVolume: pulumi.Input<string>;
  dockerHost: string;
  egressProxyUrl: string;
  modelProxy?: { baseUrl: string; apiKey: pulumi.Input<string>; models: string[]; primary: string };
  telegram?: { botToken: pulumi.Input<string>; allowFrom: string[] };
  sandbox: { memoryMb: number; cpus: number; pidsLimit: number; maxConcurrent: number };
  soul?: string;
  memoryMb: number;
  cpus: number;
  networks: NetworkAttachment[];
  /** Changing this value issues a new gateway token (random keepers). */
  tokenRotation: string;
  target: WorkloadTarget;
}

export class Gateway extends pulumi.ComponentResource {
  readonly token: pulumi.Output<string>;
  readonly openclawConfig: string;
  readonly hostName: string;
  readonly url: string;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:Gateway", name, {}, opts);
    this.token = generatedSecret(`${name}-token`, args.tokenRotation, this);
    this.hostName = name;
    this.url = `http://${name}:${args.port}`;

    const tokenFile = `${SECRETS_DIR}/openclaw-gateway-token`;
    const workspace = `${args.dataRoot}/workspace`;
    const sandboxRoot = `${args.dataRoot}/sandboxes`;
    this.openclawConfig = renderOpenclawConfig({
      port: args.port,
      exposure: args.exposure,
      gatewayTokenFile: tokenFile,
      modelProxy: args.modelProxy && { ...args.modelProxy, apiKeyFile: `${SECRETS_DIR}/litellm-key` },
      egressProxyUrl: args.egressProxyUrl,
      workspace,
      sandboxWorkspaceRoot: sandboxRoot,
      sandbox: args.sandbox,
      telegram: args.telegram && { tokenFile: `${SECRETS_DIR}/telegram-bot-token`, allowFrom: args.telegram.allowFrom },
    });

    const owned = { uid: GATEWAY_UID, gid: GATEWAY_UID };
    const files = [
      { path: GATEWAY_CONFIG_PATH, content: this.openclawConfig, secret: false, mode: "0600", ...owned },
      { path: `${workspace}/SOUL.md`, content: renderSoul(args.soul), secret: false, mode: "0444", uid: 0, gid: 0 },
      { path: tokenFile, content: this.token, secret: true, mode: "0400", ...owned },
      ...(args.modelProxy ? [{ path: `${SECRETS_DIR}/litellm-key`, content: args.modelProxy.apiKey, secret: true, mode: "0400", ...owned }] : []),
      ...(args.telegram ? [{ path: `${SECRETS_DIR}/telegram-bot-token`, content: args.telegram.botToken, secret: true, mode: "0400", ...owned }] : []),
    ];

    deployWorkload({
      name,
      image: args.image,
      user: `${GATEWAY_UID}:${GATEWAY_UID}`,
      env: {
        HOME: GATEWAY_HOME,
        OPENCLAW_CONFIG_PATH: GATEWAY_CONFIG_PATH,
        OPENCLAW_STATE_DIR: `${GATEWAY_HOME}/.openclaw`,
        // The root is read-only: OpenClaw's cache (and its fallback temp dir) must live on the /tmp tmpfs,
        // or it stops at "Unable to create fallback OpenClaw temp dir: /home/node/.cache/openclaw-1000" (seen on a real VPS).
        XDG_CACHE_HOME: "/tmp/.cache",
        DOCKER_HOST: args.dockerHost,
        HTTP_PROXY: args.egressProxyUrl,
        HTTPS_PROXY: args.egressProxyUrl,
        OPENCLAW_DISABLE_BONJOUR: "1",
      },
      networks: args.networks,
      files,
      volumes: [{ source: args.stateVolume, target: `${GATEWAY_HOME}/.openclaw`, readOnly: false }],
      binds: [
        { hostPath: workspace, target: workspace, readOnly: false, ensure: { ...owned, mode: "0700" } },
        { hostPath: sandboxRoot, target: sandboxRoot, readOnly: false, ensure: { ...owned, mode: "0700" } },
      ],
      memoryMb: args.memoryMb,
      cpus: args.cpus,
      readOnlyRoot: true,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=256m" },
      healthcheck: nodeHttpHealthcheck(`http://127.0.0.1:${args.port}/healthz`, 60),
      labels: { "openclaw.role": "gateway" },
    }, args.target, this);

    this.registerOutputs({ url: this.url, token: this.token });
  }
}
