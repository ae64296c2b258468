/**
 * The one way to place a file: on a host over SSH (`hostFile`) or into a
 * Swarm service as a config or secret (`serviceFile`). Each creates the
 * resource that delivers the file AND records it for the offline render, in
 * the same call; nothing else can record a file, so files.json lists exactly
 * what resources place (tests/singleVps.test.ts and tests/components.test.ts
 * read the placements back from the resources alone and compare both ways).
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { asRoot, Host } from "./hosts";

export interface PlacedFile {
  /** Host name from config, or the Swarm service name. */
  target: string;
  /** Absolute path on the target. */
  path: string;
  /** Octal mode, e.g. "0600". */
  mode: string;
  /** "user:group" (names or numeric ids). */
  owner: string;
  content: pulumi.Input<string>;
}

const placed: PlacedFile[] = [];

function record(file: PlacedFile): void {
  if (!file.path.startsWith("/")) throw new Error(`placing ${file.target}:${file.path}: not an absolute path`);
  if (!/^0[0-7]{3}$/.test(file.mode)) throw new Error(`placing ${file.target}:${file.path}: mode ${file.mode}, expected e.g. 0600`);
  if (placed.some((f) => f.target === file.target && f.path === file.path)) {
    throw new Error(`placing ${file.target}:${file.path}: placed twice`);
  }
  placed.push(file);
}

/** The files placed so far; the render reads them after the program ran. */
export function placedFiles(): readonly PlacedFile[] {
  return placed;
}

/** Forgets placed files, so one process can render several programs. */
export function resetPlacedFiles(): void {
  placed.length = 0;
}

/** A path as a resource-name suffix: /etc/squid/squid.conf → -etc-squid-squid.conf */
export function pathSlug(path: string): string {
  return path.replace(/[^A-Za-z0-9.]+/g, "-");
}

// ---------------------------------------------------------------- on a host, over SSH

export interface HostFileSpec {
  path: string;
  content: pulumi.Input<string>;
  mode: string;
  owner: string;
  /** Secret content: logging off and outputs marked secret. */
  secret: boolean;
}

function quote(value: string): string {
  if (!/^[A-Za-z0-9_./:@%+=-]+$/.test(value)) throw new Error(`refusing to quote unsafe shell value ${JSON.stringify(value)}`);
  return value;
}

/** The install script run on the host; content arrives on stdin. */
export function renderInstallFileScript(spec: Pick<HostFileSpec, "path" | "mode" | "owner">): string {
  const path = quote(spec.path);
  const dir = quote(spec.path.slice(0, spec.path.lastIndexOf("/")) || "/");
  return [
    "set -eu",
    "umask 077",
    // Only a missing directory is created: an existing one keeps its owner and mode (e.g. a 0700 config dir).
    `[ -d ${dir} ] || install -d -m 0755 ${dir}`,
    `tmp=$(mktemp ${path}.XXXXXX)`,
    "trap 'rm -f \"$tmp\"' EXIT",
    "cat > \"$tmp\"",
    `chown ${quote(spec.owner)} "$tmp"`,
    `chmod ${quote(spec.mode)} "$tmp"`,
    `if [ -f ${path} ] && cmp -s "$tmp" ${path} && [ "$(stat -c %a:%u:%g ${path})" = "$(stat -c %a:%u:%g "$tmp")" ]; then`,
    `  echo "unchanged ${path}"`,
    "else",
    `  mv "$tmp" ${path}`,
    `  echo "changed ${path}"`,
    "fi",
    "",
  ].join("\n");
}

/**
 * Places one file on a host: the content travels on stdin, never on a command
 * line; the script writes it atomically with its owner and mode, says whether
 * anything changed, and removes the file on delete.
 */
export function hostFile(name: string, host: Host, spec: HostFileSpec, opts: pulumi.CustomResourceOptions): command.remote.Command {
  record({ target: host.name, path: spec.path, mode: spec.mode, owner: spec.owner, content: spec.content });
  return new command.remote.Command(name, {
    connection: host.connection,
    create: asRoot(renderInstallFileScript(spec)),
    delete: asRoot(`rm -f ${quote(spec.path)}`),
    stdin: spec.secret ? pulumi.secret(spec.content) : spec.content,
    logging: spec.secret ? "none" : "stdoutAndStderr",
  }, { ...opts, additionalSecretOutputs: spec.secret ? ["stdout", "stderr", "stdin"] : [] });
}

// ---------------------------------------------------------------- into a Swarm service

export interface ServiceFileSpec {
  /** Absolute path inside the container. */
  path: string;
  content: pulumi.Input<string>;
  secret: boolean;
  uid: number;
  gid: number;
  mode: string;
}

function contentHash(content: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(content).apply((c) => createHash("sha256").update(c).digest("hex").slice(0, 12));
}

const base64 = (content: pulumi.Input<string>) => pulumi.output(content).apply((c) => Buffer.from(c).toString("base64"));

/** The daemon refuses Swarm config and secret names over 64 characters (seen on a real swarm). */
export const SWARM_OBJECT_NAME_MAX = 64;

/**
 * `<service><path slug>-<content hash>`; when that is too long, the slug is cut and a digest of the
 * full path keeps names of different files apart. Names that fit are unchanged.
 */
export function swarmObjectName(service: string, path: string, hash: string): string {
  const base = `${service}${pathSlug(path)}`;
  const suffix = `-${hash}`;
  if (base.length + suffix.length <= SWARM_OBJECT_NAME_MAX) return base + suffix;
  const pathTag = createHash("sha256").update(path).digest("hex").slice(0, 6);
  return `${base.slice(0, SWARM_OBJECT_NAME_MAX - suffix.length - pathTag.length - 1).replace(/[^A-Za-z0-9]+$/, "")}-${pathTag}${suffix}`;
}

/**
 * Places one file into a Swarm service: a docker.Secret for secret content, a
 * docker.ServiceConfig otherwise. Both are immutable, so the content hash in
 * the config's name makes a change a replacement. Returns what the service's
 * ContainerSpec lists.
 */
export function serviceFile(service: string, file: ServiceFileSpec, opts: pulumi.CustomResourceOptions):
  { config: docker.types.input.ServiceTaskSpecContainerSpecConfig } | { secret: docker.types.input.ServiceTaskSpecContainerSpecSecret } {
  record({ target: service, path: file.path, mode: file.mode, owner: `${file.uid}:${file.gid}`, content: file.content });
  const mount = { fileName: file.path, fileUid: String(file.uid), fileGid: String(file.gid), fileMode: parseInt(file.mode, 8) };
  if (file.secret) {
    const secret = new docker.Secret(`${service}-secret${pathSlug(file.path)}`, {
      // 48 bits of a digest of a high-entropy secret reveal nothing; they make every change a new, named object.
      name: pulumi.unsecret(contentHash(file.content)).apply((hash) => swarmObjectName(service, file.path, hash)),
      data: pulumi.secret(base64(file.content)),
    }, { ...opts, deleteBeforeReplace: false });
    return { secret: { secretId: secret.id, secretName: secret.name, ...mount } };
  }
  const config = new docker.ServiceConfig(`${service}-config${pathSlug(file.path)}`, {
    name: contentHash(file.content).apply((hash) => swarmObjectName(service, file.path, hash)),
    data: base64(file.content),
  }, opts);
  return { config: { configId: config.id, configName: config.name, ...mount } };
}
