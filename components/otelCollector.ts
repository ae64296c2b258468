/**
 * OtelCollector: the OpenTelemetry collector of seed 001, pinned with the
 * other sensitive services. The gateways send OTLP/HTTP to it on the internal
 * network only; it exports to one configured backend, and only through the
 * egress proxy (`proxy_url`), whose allowlist holds that backend's host and
 * nothing else for it. The collector itself has no route out: it sits on the
 * internal network only.
 */
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { otlpEndpointProblem } from "../infra/config/schema";
import { deployWorkload, NetworkAttachment, WorkloadTarget } from "../infra/workload";

/** OTLP over HTTP (the only protocol OpenClaw's exporter speaks: `diagnostics.otel.protocol: http/protobuf`). */
export const OTLP_HTTP_PORT = 4318;
const CONFIG_PATH = "/etc/otelcol-contrib/config.yaml";

/** The collector's config: OTLP/HTTP in, memory-limited and batched, OTLP/HTTP out through the egress proxy. */
export function renderOtelCollectorConfig(o: { exporterEndpoint: string; egressProxyUrl: string }): string {
  const problem = otlpEndpointProblem(o.exporterEndpoint);
  if (problem) throw new Error(`otel collector: ${o.exporterEndpoint}: ${problem}`);
  const pipeline = { receivers: ["otlp"], processors: ["memory_limiter", "batch"], exporters: ["otlphttp"] };
  return stringify({
    receivers: { otlp: { protocols: { http: { endpoint: `0.0.0.0:${OTLP_HTTP_PORT}` } } } },
    processors: {
      // Refuse data before the container's memory limit kills the collector.
      memory_limiter: { check_interval: "1s", limit_percentage: 80, spike_limit_percentage: 20 },
      batch: {},
    },
    exporters: { otlphttp: { endpoint: o.exporterEndpoint, proxy_url: o.egressProxyUrl } },
    service: {
      // The collector's own metrics endpoint (8888) stays closed: nothing scrapes it.
      telemetry: { metrics: { level: "none" } },
      pipelines: { traces: pipeline, metrics: pipeline, logs: pipeline },
    },
  }, { lineWidth: 0, aliasDuplicateObjects: false });
}

export interface OtelCollectorArgs {
  image: pulumi.Input<string>;
  /** The backend's OTLP/HTTP endpoint (https, port 443). */
  exporterEndpoint: string;
  egressProxyUrl: string;
  /** The internal network: the gateways reach the collector and the collector the egress proxy on it. */
  network: NetworkAttachment;
  memoryMb: number;
  cpus: number;
  target: WorkloadTarget;
}

export class OtelCollector extends pulumi.ComponentResource {
  /** Base URL for OpenClaw's `diagnostics.otel.endpoint`. */
  readonly endpoint: string;

  constructor(name: string, args: OtelCollectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:OtelCollector", name, {}, opts);
    this.endpoint = `http://${name}:${OTLP_HTTP_PORT}`;
    deployWorkload({
      name,
      image: args.image,
      command: [`--config=${CONFIG_PATH}`],
      // The published image's own user (10001); no secret is in its config.
      user: "10001:10001",
      networks: [args.network],
      files: [{ path: CONFIG_PATH, content: renderOtelCollectorConfig(args), secret: false, uid: 10001, gid: 10001, mode: "0444" }],
      memoryMb: args.memoryMb,
      cpus: args.cpus,
      readOnlyRoot: true,
      // The published image is a single static binary with no shell, curl or wget: nothing inside can
      // probe it. Swarm's restart policy covers a collector that exits; docs/operations.md says so.
      healthcheck: { test: ["NONE"], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 },
      labels: { "openclaw.role": "otel-collector" },
    }, args.target, this);
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
