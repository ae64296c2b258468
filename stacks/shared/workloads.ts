/**
 * The OpenClaw workloads every Docker topology runs — the socket proxy, the
 * Squid egress proxy, LiteLLM (swarm: if configured) and N gateways — planned first (names and
 * limits, pure, so the capacity check runs before anything registers) and
 * then built from that plan, on whatever targets the topology gives.
 */
import { EgressProxy } from "../../components/egressProxy";
import { Gateway, gatewayDirs } from "../../components/gateway";
import { LITELLM_PORT, LiteLlm } from "../../components/litellm";
import { OTLP_HTTP_PORT, OtelCollector } from "../../components/otelCollector";
import { SocketProxy } from "../../components/socketProxy";
import { requiredDomains, SingleVpsConfig, SwarmConfig } from "../../infra/config/schema";
import { directModelRouting } from "../../infra/providers";
import { PublicRoute } from "../../infra/publicRoutes";
import { NetworkAttachment, WorkloadTarget } from "../../infra/workload";

/** The topologies whose OpenClaw workloads run in Docker. */
export type DockerTopologyConfig = SingleVpsConfig | SwarmConfig;

export interface Sizing {
  /** Container or service name; also the DNS name other workloads use. */
  name: string;
  memoryMb: number;
  cpus: number;
}

export interface WorkloadPlan {
  socketProxy: Sizing;
  egress: Sizing;
  /** Absent on a swarm without `openclaw:litellm`: the gateways call the providers directly. */
  litellm?: Sizing;
  gateways: (Sizing & { instance: string; dataRoot: string })[];
  /** Swarm only, when `openclaw:otel` is set. */
  otelCollector?: Sizing & { exporterEndpoint: string; image: string };
}

export function planWorkloads(config: DockerTopologyConfig): WorkloadPlan {
  const sized = (name: string, limits: { memoryMb: number; cpus: number }): Sizing => ({ name, memoryMb: limits.memoryMb, cpus: limits.cpus });
  return {
    socketProxy: sized("openclaw-docker-proxy", config.socketProxy),
    egress: sized("openclaw-egress", config.egress),
    ...(config.litellm ? { litellm: sized("openclaw-litellm", config.litellm) } : {}),
    gateways: config.gateway.instances.map((i) => ({ ...sized(`openclaw-${i.name}`, config.gateway), instance: i.name, dataRoot: `/srv/openclaw/${i.name}` })),
    ...(config.topology === "swarm" && config.otel
      ? { otelCollector: { ...sized("openclaw-otel-collector", config.otel), exporterEndpoint: config.otel.exporterEndpoint, image: config.images.otelCollector } }
      : {}),
  };
}

/** Every planned container, for the capacity check. */
export function plannedContainers(plan: WorkloadPlan): { name: string; memoryMb: number }[] {
  return [plan.socketProxy, plan.egress, ...(plan.litellm ? [plan.litellm] : []), ...plan.gateways, ...(plan.otelCollector ? [plan.otelCollector] : [])]
    .map(({ name, memoryMb }) => ({ name, memoryMb }));
}

/** The worst case of concurrent sandboxes, which the capacity check adds to the containers. */
export function plannedSandboxes(config: DockerTopologyConfig): { instances: number; maxConcurrent: number; memoryMb: number } {
  return { instances: config.gateway.instances.length, maxConcurrent: config.gateway.sandbox.maxConcurrent, memoryMb: config.gateway.sandbox.memoryMb };
}

export interface WorkloadPlacement {
  /** Where each workload runs (a host's Docker, or a Swarm service pinned by constraints). */
  target(name: string): WorkloadTarget;
  /** Internal network: gateways, socket proxy, LiteLLM, egress clients; never routed out. */
  internal: NetworkAttachment;
  /** Its subnet: the only clients the egress proxy serves. */
  internalSubnet: string;
  /** The network the ingress reaches the gateways on, and the subnet the gateways trust as proxies. */
  proxy: NetworkAttachment;
  proxySubnet: string;
  /** The network with a route out, for the egress proxy only. */
  egress: NetworkAttachment;
  /** Public route of each gateway instance, in instance order. */
  routes: PublicRoute[];
}

export interface OpenclawWorkloads {
  socketProxy: SocketProxy;
  egress: EgressProxy;
  litellm?: LiteLlm;
  gateways: Gateway[];
  otelCollector?: OtelCollector;
}

export function buildWorkloads(config: DockerTopologyConfig, plan: WorkloadPlan, at: WorkloadPlacement): OpenclawWorkloads {
  const socketProxy = new SocketProxy(plan.socketProxy.name, {
    image: config.images.socketProxy,
    instances: plan.gateways.map((g) => ({ name: g.instance, gatewayContainer: g.name, sandboxRoot: gatewayDirs(g.dataRoot).sandboxRoot })),
    sandbox: config.gateway.sandbox,
    network: at.internal,
    memoryMb: plan.socketProxy.memoryMb,
    cpus: plan.socketProxy.cpus,
    target: at.target(plan.socketProxy.name),
  });

  const otel = plan.otelCollector;
  const litellmModels = config.litellm?.models;
  const directModels = config.topology === "swarm" && !litellmModels ? config.models : undefined;
  const egress = new EgressProxy(plan.egress.name, {
    // The models' providers (LiteLLM's or the gateways' own calls) and the collector's backend: their only way out.
    allowDomains: [...requiredDomains(litellmModels ?? directModels ?? [], config.channelTokens, otel?.exporterEndpoint), ...config.egress.extraDomains],
    clientSubnets: [at.internalSubnet],
    // proxy.proxyUrl clears NO_PROXY, so the gateways' calls to LiteLLM (and to the collector) arrive here.
    internalDestinations: [...(plan.litellm ? [{ host: plan.litellm.name, port: LITELLM_PORT }] : []), ...(otel ? [{ host: otel.name, port: OTLP_HTTP_PORT }] : [])],
    image: config.images.egressProxy,
    internalNetwork: at.internal,
    egressNetwork: at.egress,
    memoryMb: plan.egress.memoryMb,
    cpus: plan.egress.cpus,
    target: at.target(plan.egress.name),
  });

  const litellm = plan.litellm && litellmModels && new LiteLlm(plan.litellm.name, {
    image: config.images.litellm,
    models: litellmModels,
    providerApiKeys: config.providerApiKeys,
    egressProxyUrl: egress.url,
    network: at.internal,
    memoryMb: plan.litellm.memoryMb,
    cpus: plan.litellm.cpus,
    masterKeyRotation: config.rotation.litellmMasterKey,
    target: at.target(plan.litellm.name),
  });

  const otelCollector = otel && new OtelCollector(otel.name, {
    image: otel.image,
    exporterEndpoint: otel.exporterEndpoint,
    egressProxyUrl: egress.url,
    network: at.internal,
    memoryMb: otel.memoryMb,
    cpus: otel.cpus,
    target: at.target(otel.name),
  });

  const instances = config.gateway.instances;
  const gateways = plan.gateways.map((g, i) => {
    const botToken = config.channelTokens[g.instance];
    return new Gateway(g.name, {
      image: config.images.gateway,
      port: config.gateway.port,
      exposure: { kind: "reverse-proxy", trustedProxies: [at.proxySubnet] },
      publicRoute: at.routes[i]!,
      dataRoot: g.dataRoot,
      docker: socketProxy.access[g.instance]!,
      egressProxyUrl: egress.url,
      modelProxy: litellm && litellmModels && {
        baseUrl: litellm.url,
        apiKey: litellm.masterKey,
        models: litellmModels.map((m) => m.name),
        primary: litellmModels[0]!.name,
      },
      directModels: directModels && directModelRouting(directModels, config.providerApiKeys),
      telegram: botToken === undefined ? undefined : { botToken, allowFrom: instances[i]!.telegram?.allowFrom ?? [] },
      telemetryEndpoint: otelCollector?.endpoint,
      sandbox: config.gateway.sandbox,
      soul: config.gateway.soul,
      memoryMb: g.memoryMb,
      cpus: g.cpus,
      networks: [at.internal, at.proxy],
      tokenRotation: config.rotation.gatewayToken,
      target: at.target(g.name),
    });
  });

  return { socketProxy, egress, litellm, gateways, otelCollector };
}
