/**
 * LiteLLM: the model proxy holding the provider API keys, so the gateway
 * never sees them. Keys and the master key are files readable only by the
 * service; a start script exports them into the server process alone, so
 * they are not in the container's environment that `docker inspect` (or the
 * socket proxy) shows. Egress goes through the egress proxy.
 */
import * as pulumi from "@pulumi/pulumi";
import { stringify as toYaml } from "yaml";
import { ModelConfig } from "../infra/config/schema";
import { PROVIDERS, ProviderName, providerKeyEnv } from "../infra/providers";
import { generatedSecret } from "../infra/secrets";
import { deployWorkload, NetworkAttachment, SECRETS_DIR, WorkloadTarget } from "../infra/workload";

export const LITELLM_PORT = 4000;
const CONFIG_PATH = "/etc/litellm/config.yaml";
const START_SCRIPT_PATH = "/etc/litellm/start.sh";
const MASTER_KEY_FILE = `${SECRETS_DIR}/litellm-master-key`;
const providerKeyFile = (provider: ProviderName) => `${SECRETS_DIR}/${provider}-api-key`;

/** LiteLLM's config.yaml: keys are `os.environ/...` references, never values. */
export function renderLiteLlmConfig(models: ModelConfig[]): string {
  const fallbacks = models.filter((m) => m.fallbacks.length > 0).map((m) => ({ [m.name]: m.fallbacks }));
  const config = {
    model_list: models.map((m) => ({
      model_name: m.name,
      litellm_params: {
        model: `${PROVIDERS[m.provider].litellmPrefix}/${m.model}`,
        api_key: `os.environ/${providerKeyEnv(m.provider)}`,
        ...(m.apiBase !== undefined ? { api_base: m.apiBase } : {}),
        ...(m.rpm !== undefined ? { rpm: m.rpm } : {}),
        ...(m.maxBudgetUsd !== undefined ? { max_budget: m.maxBudgetUsd, budget_duration: "30d" } : {}),
      },
    })),
    ...(fallbacks.length > 0 ? { router_settings: { fallbacks } } : {}),
    litellm_settings: { drop_params: true, turn_off_message_logging: true },
    general_settings: { master_key: "os.environ/LITELLM_MASTER_KEY" },
  };
  return toYaml(config);
}

/** Reads each secret file into the server's own environment, then execs it. */
export function renderLiteLlmStartScript(providers: ProviderName[]): string {
  const variables: [string, string][] = [
    ["LITELLM_MASTER_KEY", MASTER_KEY_FILE],
    ...providers.map((p): [string, string] => [providerKeyEnv(p), providerKeyFile(p)]),
  ];
  return [
    "#!/bin/sh",
    "# Rendered by openclaw-infra (components/litellm.ts): secrets stay out of the container's env.",
    "set -eu",
    ...variables.flatMap(([name, file]) => [`${name}="$(cat ${file})"`, `export ${name}`]),
    `exec litellm --config ${CONFIG_PATH} --port ${LITELLM_PORT} --host 0.0.0.0`,
    "",
  ].join("\n");
}

export interface LiteLlmArgs {
  image: pulumi.Input<string>;
  models: ModelConfig[];
  providerApiKeys: Partial<Record<ProviderName, pulumi.Input<string>>>;
  egressProxyUrl: string;
  network: NetworkAttachment;
  memoryMb: number;
  cpus: number;
  /** Changing this value issues a new master key (random keepers). */
  masterKeyRotation: string;
  target: WorkloadTarget;
}

export class LiteLlm extends pulumi.ComponentResource {
  readonly masterKey: pulumi.Output<string>;
  readonly url: string;
  readonly hostName: string;
  readonly config: string;

  constructor(name: string, args: LiteLlmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:LiteLlm", name, {}, opts);
    // LiteLLM requires master keys to start with "sk-".
    this.masterKey = pulumi.interpolate`sk-${generatedSecret(`${name}-master-key`, args.masterKeyRotation, this)}`;
    this.hostName = name;
    this.url = `http://${name}:${LITELLM_PORT}`;
    this.config = renderLiteLlmConfig(args.models);

    const providers = [...new Set(args.models.map((m) => m.provider))].sort();
    const root = { uid: 0, gid: 0 };
    const files = [
      { path: CONFIG_PATH, content: this.config, secret: false, mode: "0444", ...root },
      { path: START_SCRIPT_PATH, content: renderLiteLlmStartScript(providers), secret: false, mode: "0555", ...root },
      { path: MASTER_KEY_FILE, content: this.masterKey, secret: true, mode: "0400", ...root },
      ...providers.map((p) => {
        const key = args.providerApiKeys[p];
        if (key === undefined) throw new Error(`${name}: no API key for provider ${p}`);
        return { path: providerKeyFile(p), content: key, secret: true, mode: "0400", ...root };
      }),
    ];

    deployWorkload({
      name,
      image: args.image,
      entrypoint: ["/bin/sh", START_SCRIPT_PATH],
      env: {
        HTTPS_PROXY: args.egressProxyUrl,
        HTTP_PROXY: args.egressProxyUrl,
        NO_PROXY: "localhost,127.0.0.1",
      },
      networks: [args.network],
      files,
      memoryMb: args.memoryMb,
      cpus: args.cpus,
      readOnlyRoot: true,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=128m" },
      healthcheck: {
        test: ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${LITELLM_PORT}/health/liveliness', timeout=4)`],
        intervalSeconds: 30,
        timeoutSeconds: 5,
        retries: 3,
        startPeriodSeconds: 60,
      },
      labels: { "openclaw.role": "litellm" },
    }, args.target, this);

    this.registerOutputs({ url: this.url, masterKey: this.masterKey });
  }
}
