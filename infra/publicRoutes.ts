/**
 * Where each gateway instance is reached from outside, written once: the
 * first instance at the root of the domain, every other one under
 * `/<instance>/` (path routing, Caddy) or on `<instance>.<domain>` (host
 * routing: a Cloudflare Tunnel cannot strip a path prefix). The gateway's
 * allowed origin, the ingress config and the `gatewayUrls` output all read it.
 */
export type RouteStyle = "path" | "subdomain";

export interface PublicRoute {
  instance: string;
  hostname: string;
  /** `/` for the instance at the root, `/<instance>/` under path routing. */
  pathPrefix: string;
  /** What a browser opens. */
  url: string;
  /** The browser origin of `url` (the gateway's allowed origin). */
  origin: string;
}

export function publicRoutes(domain: string, instances: readonly string[], style: RouteStyle): PublicRoute[] {
  return instances.map((instance, i) => {
    const hostname = i === 0 || style === "path" ? domain : `${instance}.${domain}`;
    const pathPrefix = i === 0 || style === "subdomain" ? "/" : `/${instance}/`;
    const origin = `https://${hostname}`;
    return { instance, hostname, pathPrefix, origin, url: pathPrefix === "/" ? origin : `${origin}${pathPrefix}` };
  });
}
