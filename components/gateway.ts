/**
 * Gateway: one OpenClaw gateway instance in a container or Swarm service.
 * Its token is a RandomPassword delivered as a file (never in openclaw.json,
 * never in env, never on a command line); openclaw.json and SOUL.md are
 * mounted read-only, so an agent cannot rewrite its own config or rules.
 * Sandboxes run through DOCKER_HOST = the socket proxy; egress goes through
 * the egress proxy. The gateway owns its paths and says what others need:
 * its state volume, its token file on the host, its backup sources, its
 * public route and its upstream for the ingress.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SandboxConfig } from "../infra/config/schema";
import { PublicRoute } from "../infra/publicRoutes";
import { generatedSecret } from "../infra/secrets";
import { deployWorkload, dockerResourceOptions, hostPathFor, NetworkAttachment, nodeHttpHealthcheck, SECRETS_DIR, WorkloadTarget } from "../infra/workload";
import { DirectModels, directModelFiles, GatewayExposure, ModelRouting, renderOpenclawConfig, renderSoul } from "./openclawConfig";
import type { GatewayDockerAccess } from "./socketProxy";

/** The official image runs as uid 1000 with HOME=/home/node. */
export const GATEWAY_UID = 1000;
export const GATEWAY_HOME = "/home/node";
export const GATEWAY_CONFIG_PATH = "/etc/openclaw/openclaw.json";
const STATE_DIR = `${GATEWAY_HOME}/.openclaw`;
const TOKEN_FILE = `${SECRETS_DIR}/openclaw-gateway-token`;
const MODEL_KEY_FILE = `${SECRETS_DIR}/litellm-key`;
const TELEGRAM_TOKEN_FILE = `${SECRETS_DIR}/telegram-bot-token`;
const providerKeyFile = (provider: string) => `${SECRETS_DIR}/${provider}-api-key`;

/** The host directories of an instance under its data root (the same paths inside the container). */
export function gatewayDirs(dataRoot: string): { workspace: string; sandboxRoot: string } {
  return { workspace: `${dataRoot}/workspace`, sandboxRoot: `${dataRoot}/sandboxes` };
}

export interface GatewayArgs {
  image: pulumi.Input<string>;
  port: number;
  exposure: GatewayExposure;
  /** Where browsers reach this instance; its origin is the only allowed one. */
  publicRoute: PublicRoute;
  /** Root of this instance's host directories (workspace, sandboxes). */
  dataRoot: string;
  /** This instance's socket-proxy listener: DOCKER_HOST and the bind of its directory (SocketProxy.access). */
  docker: GatewayDockerAccess;
  egressProxyUrl: string;
  /** LiteLLM: the one provider the gateway sees. */
  modelProxy?: { baseUrl: string; apiKey: pulumi.Input<string>; models: string[]; primary: string };
  /** Without LiteLLM: the providers the gateway calls itself, each key a secret file (directModelRouting). */
  directModels?: DirectModels<pulumi.Input<string>>;
  telegram?: { botToken: pulumi.Input<string>; allowFrom: string[] };
  /** OTLP/HTTP collector base URL: traces and metrics go there (OtelCollector.endpoint). */
  telemetryEndpoint?: string;
  sandbox: SandboxConfig;
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
  /** `http://<name>:<port>`, inside the deployment's networks. */
  readonly url: string;
  /** `<name>:<port>`: what an ingress proxies to. */
  readonly upstream: string;
  readonly publicRoute: PublicRoute;
  /** Docker volume holding the state dir (sessions, memory). */
  readonly dataVolume: string;
  /** Host directories a backup must hold to restore this instance. */
  readonly backupSources: string[];
  /** The token file as the host sees it (container mode), for the token-age reminder. */
  readonly tokenFileOnHost: string | undefined;
  /** The directory sandbox workspaces live in: the socket proxy's only allowed bind root. */
  readonly sandboxRoot: string;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:Gateway", name, {}, opts);
    this.token = generatedSecret(`${name}-token`, args.tokenRotation, this);
    this.hostName = name;
    this.url = `http://${name}:${args.port}`;
    this.upstream = `${name}:${args.port}`;
    this.publicRoute = args.publicRoute;
    this.dataVolume = `${name}-data`;
    const { workspace, sandboxRoot } = gatewayDirs(args.dataRoot);
    this.sandboxRoot = sandboxRoot;
    this.backupSources = [`/var/lib/docker/volumes/${this.dataVolume}/_data`, workspace];
    this.tokenFileOnHost = args.target.kind === "container" ? hostPathFor(args.target, TOKEN_FILE) : undefined;

    if (args.modelProxy && args.directModels) throw new Error(`gateway ${name}: LiteLLM or direct providers, not both`);
    // LiteLLM is the one provider the gateway sees; it applies the models' fallbacks itself.
    const models: ModelRouting | undefined = args.modelProxy
      ? {
        providers: [{ id: "litellm", baseUrl: args.modelProxy.baseUrl, api: "openai-completions", apiKeyFile: MODEL_KEY_FILE, models: args.modelProxy.models }],
        primary: `litellm/${args.modelProxy.primary}`,
        fallbacks: [],
      }
      : args.directModels && directModelFiles(args.directModels, providerKeyFile);
    this.openclawConfig = renderOpenclawConfig({
      port: args.port,
      exposure: args.exposure,
      allowedOrigins: [args.publicRoute.origin],
      gatewayTokenFile: TOKEN_FILE,
      models,
      egressProxyUrl: args.egressProxyUrl,
      workspace,
      sandboxWorkspaceRoot: this.sandboxRoot,
      sandbox: args.sandbox,
      telegram: args.telegram && { tokenFile: TELEGRAM_TOKEN_FILE, allowFrom: args.telegram.allowFrom },
      telemetry: args.telemetryEndpoint === undefined ? undefined : { endpoint: args.telemetryEndpoint, serviceName: name },
    });

    // Created before this component existed, at the stack's root: the alias keeps the volume (and its data) on upgrade.
    const volume = new docker.Volume(this.dataVolume, { name: this.dataVolume },
      { ...dockerResourceOptions(args.target, this), aliases: [{ parent: pulumi.rootStackResource }] });

    const owned = { uid: GATEWAY_UID, gid: GATEWAY_UID };
    const files = [
      { path: GATEWAY_CONFIG_PATH, content: this.openclawConfig, secret: false, mode: "0600", ...owned },
      { path: `${workspace}/SOUL.md`, content: renderSoul(args.soul), secret: false, mode: "0444", uid: 0, gid: 0 },
      { path: TOKEN_FILE, content: this.token, secret: true, mode: "0400", ...owned },
      ...(args.modelProxy ? [{ path: MODEL_KEY_FILE, content: args.modelProxy.apiKey, secret: true, mode: "0400", ...owned }] : []),
      ...(args.directModels?.providers ?? []).map((p) => ({ path: providerKeyFile(p.id), content: p.apiKey, secret: true, mode: "0400", ...owned })),
      ...(args.telegram ? [{ path: TELEGRAM_TOKEN_FILE, content: args.telegram.botToken, secret: true, mode: "0400", ...owned }] : []),
    ];

    deployWorkload({
      name,
      image: args.image,
      // OpenClaw records its state-dir owner lease by hostname and reclaims a dead owner's lease only on
      // the same hostname: with Docker's per-task hostname, a new task (a failover's restored state, a task
      // replacing a crashed one) refused to start for the lease's 5 minutes (seen on the swarm). Swarm mode only.
      hostname: name,
      user: `${GATEWAY_UID}:${GATEWAY_UID}`,
      env: {
        HOME: GATEWAY_HOME,
        OPENCLAW_CONFIG_PATH: GATEWAY_CONFIG_PATH,
        OPENCLAW_STATE_DIR: STATE_DIR,
        // The root is read-only: OpenClaw's cache (and its fallback temp dir) must live on the /tmp tmpfs,
        // or it stops at "Unable to create fallback OpenClaw temp dir: /home/node/.cache/openclaw-1000" (seen on a real VPS).
        XDG_CACHE_HOME: "/tmp/.cache",
        DOCKER_HOST: args.docker.dockerHost,
        HTTP_PROXY: args.egressProxyUrl,
        HTTPS_PROXY: args.egressProxyUrl,
        OPENCLAW_DISABLE_BONJOUR: "1",
      },
      networks: args.networks,
      files,
      volumes: [{ source: volume.name, target: STATE_DIR, readOnly: false }],
      binds: [
        { hostPath: workspace, target: workspace, readOnly: false, ensure: { ...owned, mode: "0700" } },
        // The socket proxy (root without capabilities, so without DAC override) walks into each workspace to prove a
        // bind source free of symlinks: root's group may search, nobody else may (0700 made every sandbox create
        // fail with "bind source ... does not exist" on a real VPS).
        { hostPath: this.sandboxRoot, target: this.sandboxRoot, readOnly: false, ensure: { uid: GATEWAY_UID, gid: 0, mode: "0710" } },
        { ...args.docker.bind, readOnly: true },
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
