/**
 * Places one file on a host over SSH. The content travels on stdin, never on
 * a command line; the script writes it atomically with its owner and mode,
 * says whether anything changed, and removes the file on delete.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "./hosts";
import { placeFile } from "./placedFiles";

export interface RemoteFileSpec {
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

/**
 * Runs a script as root through passwordless sudo: the SSH user is not root
 * (HostBaseline forbids root login). The script is an argument, so it must
 * never hold a secret; secrets travel on stdin.
 */
export function asRoot(script: string): string {
  return `sudo -n bash -c '${script.replace(/'/g, "'\\''")}'`;
}

/** The install script run on the host; content arrives on stdin. */
export function renderInstallFileScript(spec: Pick<RemoteFileSpec, "path" | "mode" | "owner">): string {
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

export function remoteFile(name: string, host: Host, spec: RemoteFileSpec, opts: pulumi.CustomResourceOptions): command.remote.Command {
  placeFile({ target: host.name, path: spec.path, mode: spec.mode, owner: spec.owner, content: spec.content });
  return new command.remote.Command(name, {
    connection: host.connection,
    create: asRoot(renderInstallFileScript(spec)),
    delete: asRoot(`rm -f ${quote(spec.path)}`),
    stdin: spec.secret ? pulumi.secret(spec.content) : spec.content,
    logging: spec.secret ? "none" : "stdoutAndStderr",
  }, { ...opts, additionalSecretOutputs: spec.secret ? ["stdout", "stderr", "stdin"] : [] });
}
