/**
 * The fixture of the runtime suites: one test VPS with the stand-in images
 * loaded, the single-vps stack rendered for it (its address, pinned host key,
 * the runner as admin, `openclaw:images.*` pointing at the stand-ins) and an
 * applier for that render.
 */
import { durationNs, RenderApplier } from "./apply";
import { loadImages, StackImageKey, testImagesConfig } from "./images";
import { runRender, RenderRun, vpsStackConfig, writeStackFile } from "./render";
import { missingTools } from "./tools";
import { bootVps, VpsCluster, VpsHost } from "./vps";

/** Tools every runtime suite needs on the runner. */
export function runtimeSkip(suite: string): string | undefined {
  return missingTools(suite, ["debootstrap", "systemd-nspawn", "dockerd", "docker", "ssh", "ssh-keygen", "ip", "flock"], true);
}

export interface Runtime {
  cluster: VpsCluster;
  host: VpsHost;
  render: RenderRun;
  applier: RenderApplier;
  /** Seconds: VPS boot, image load (per image), render. */
  timings: { boot: number; load: Record<string, number>; render: number };
  /** Seconds the teardown took. */
  teardown(): number;
}

export async function startRuntime(options: {
  images: StackImageKey[];
  config?: Record<string, unknown>;
  /** Namespace prefix and address range of the suite family (default: the runtime suites' ocrt, 10.210.0.0/16). */
  vps?: { prefix: string; range: string };
}): Promise<Runtime> {
  const cluster = await bootVps({ hosts: ["vps"], sudoUsers: ["deploy"], ...options.vps });
  try {
    const host = cluster.hosts[0]!;
    const load = await loadImages(host, options.images);
    const render = runRender(["--stack", "single-vps", "--config", writeStackFile(vpsStackConfig(host, cluster.runnerAddress, {
      images: testImagesConfig(),
      ingress: { mode: "caddy", domain: "openclaw.localhost", cloudflareZoneId: "0123456789abcdef0123456789abcdef" },
      ...options.config,
    }))]);
    if (render.status !== 0) throw new Error(`render failed: ${render.stderr}`);
    return {
      cluster, host, render,
      applier: new RenderApplier(render, host, "deploy"),
      timings: { boot: cluster.bootSeconds, load, render: render.seconds },
      teardown: () => cluster.teardown(),
    };
  } catch (err) {
    cluster.teardown();
    throw err;
  }
}

/**
 * Seconds a container may take to answer before its declared healthcheck calls it unhealthy:
 * start period + retries × interval. The runtime suites hold the workloads to exactly that.
 */
export function declaredHealthSeconds(applier: RenderApplier, containerResource: string): number {
  const hc = applier.resource("docker:index/container:Container", containerResource).inputs["healthcheck"];
  return (durationNs(hc.startPeriod) + hc.retries * durationNs(hc.interval)) / 1e9;
}
