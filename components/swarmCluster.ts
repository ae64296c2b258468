/**
 * SwarmCluster: the Docker Swarm every swarm-topology service runs on.
 * The first manager creates the swarm (`init`) or must already run one
 * (`adopt`, e.g. CapRover's); the other nodes join over SSH with the join
 * token on stdin, sent to the Docker API over the local socket, so it is
 * never on a command line, in a log or in an output. Autolock is on by
 * default (CIS 7.5); the unlock key is a secret output. A reconcile script
 * on the first manager sets roles and labels: `openclaw.node=<name>` on
 * every node, `openclaw.trusted=true` on the trusted node only. Every script
 * is idempotent: a re-run joins nothing twice and changes no label that is
 * already right.
 */
import { isIP } from "node:net";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "../infra/hosts";
import { asRoot } from "../infra/hosts";

export const SWARM_PORT = 2377;
export const TRUSTED_LABEL = "openclaw.trusted";
export const NODE_LABEL = "openclaw.node";
/** The placement constraint every sensitive service carries. */
export const TRUSTED_CONSTRAINT = `node.labels.${TRUSTED_LABEL} == true`;

export type SwarmRole = "manager" | "worker";

export interface SwarmNodeSpec {
  name: string;
  role: SwarmRole;
  /** Address peers reach this node on (advertise and listen address). */
  address: string;
  /** Extra labels from config (openclaw.* are set here, not by config). */
  labels: Record<string, string>;
}

const hostPort = (address: string, port: number) => (isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`);

function checkAddress(address: string): string {
  if (isIP(address) === 0) throw new Error(`swarm: ${JSON.stringify(address)} is not an IP address`);
  return address;
}

const HEADER = "#!/usr/bin/env bash\n# Rendered by openclaw-infra (components/swarmCluster.ts).\nset -euo pipefail\n";
const STATE = "docker info --format '{{.Swarm.LocalNodeState}}'";
const LOCKED_HINT = "run 'docker swarm unlock' on it with the key from 'pulumi stack output swarmUnlockKey --show-secrets' on stdin";

/**
 * Runs on the first manager. init: creates the swarm unless this node is
 * already a manager of one; adopt: requires that it is. Sets autolock as
 * configured (its output, which carries the key, goes to /dev/null). Prints
 * the node id on stdout, what it did on stderr.
 */
export function renderBootstrapScript(o: { mode: "init" | "adopt"; address: string; autolock: boolean }): string {
  const address = checkAddress(o.address);
  const onInactive = o.mode === "init"
    ? `docker swarm init --advertise-addr '${address}' --listen-addr '${hostPort(address, SWARM_PORT)}' >/dev/null
    echo "swarm: initialized" >&2`
    : `echo "swarm: adopt expects this node to be a manager of an existing swarm (CapRover's), but it is in none" >&2
    exit 1`;
  return `${HEADER}
case "$(${STATE})" in
  active) echo "swarm: existing" >&2 ;;
  inactive)
    ${onInactive} ;;
  locked) echo "swarm: this manager is locked: ${LOCKED_HINT}" >&2; exit 1 ;;
  *) echo "swarm: unexpected node state $(${STATE})" >&2; exit 1 ;;
esac
if [[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]]; then
  echo "swarm: this node is in a swarm but is not a manager" >&2
  exit 1
fi
if [[ "$(docker info --format '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')" != ${o.autolock} ]]; then
  docker swarm update --autolock=${o.autolock} >/dev/null
  echo "swarm: autolock set to ${o.autolock}" >&2
fi
docker info --format '{{.Swarm.NodeID}}'
`;
}

/** Runs on the first manager; its stdout is a secret: manager token, worker token, unlock key (one per line). */
export function renderCredentialsScript(): string {
  return `${HEADER}
manager=$(docker swarm join-token -q manager)
worker=$(docker swarm join-token -q worker)
unlock=""
if [[ "$(docker info --format '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')" == true ]]; then
  unlock=$(docker swarm unlock-key -q)
fi
printf '%s\\n%s\\n%s\\n' "\${manager}" "\${worker}" "\${unlock}"
`;
}

/**
 * Runs on a joining node, with stdin = the join token, a newline and the
 * manager's host:port. The token goes from stdin to the Docker API through
 * printf (a shell builtin: no process sees it in argv); an error message
 * from the API is printed with the token masked. Prints the node id.
 */
export function renderJoinScript(o: { address: string }): string {
  const address = checkAddress(o.address);
  return `${HEADER}
IFS= read -r token
IFS= read -r remote
if [[ ! "\${token}" =~ ^SWMTKN-1-[a-z0-9]+-[a-z0-9]+$ ]]; then
  echo "swarm join: stdin does not start with a join token" >&2
  exit 1
fi
if [[ ! "\${remote}" =~ ^[][0-9A-Fa-f.:]+:${SWARM_PORT}$ ]]; then
  echo "swarm join: the second line of stdin is not a manager address:${SWARM_PORT}" >&2
  exit 1
fi
host=\${DOCKER_HOST:-unix:///var/run/docker.sock}
case "$(${STATE})" in
  active) echo "swarm join: already a member" >&2 ;;
  inactive)
    response=$(printf '{"ListenAddr":"%s","AdvertiseAddr":"%s","RemoteAddrs":["%s"],"JoinToken":"%s"}' \\
        '${hostPort(address, SWARM_PORT)}' '${address}' "\${remote}" "\${token}" \\
      | curl -sS --unix-socket "\${host#unix://}" -H 'Content-Type: application/json' --data-binary @- \\
          -w '\\n%{http_code}' http://localhost/swarm/join)
    code=\${response##*$'\\n'}
    body=\${response%$'\\n'*}
    if [[ "\${code}" != 200 ]]; then
      echo "swarm join: the Docker API answered \${code}: \${body//\${token}/[join token]}" >&2
      exit 1
    fi
    echo "swarm join: joined \${remote}" >&2 ;;
  locked) echo "swarm join: this node is a locked manager: ${LOCKED_HINT}" >&2; exit 1 ;;
  *) echo "swarm join: unexpected node state $(${STATE})" >&2; exit 1 ;;
esac
docker info --format '{{.Swarm.NodeID}}'
`;
}

/** The labels a node must carry: its name, the trust label on the trusted node only, and config's. */
export function desiredLabels(node: SwarmNodeSpec, trustedNode: string): Record<string, string> {
  const labels: Record<string, string> = { ...node.labels, [NODE_LABEL]: node.name };
  if (node.name === trustedNode) labels[TRUSTED_LABEL] = "true";
  for (const [key, value] of Object.entries(labels)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(key) || !/^[A-Za-z0-9._-]+$/.test(value)) {
      throw new Error(`swarm: node ${node.name}: label ${key}=${value} must be [a-z0-9._-] = [A-Za-z0-9._-]`);
    }
  }
  return labels;
}

/**
 * Runs on a manager. Finds each configured node by its address
 * (`.Status.Addr`, the address it advertised) and fails if one is not in
 * the swarm; then sets the role, adds missing or changed labels, and
 * removes labels it manages (openclaw.* and the keys config names) that are
 * no longer wanted, leaving every other label (CapRover's) alone. Prints
 * `nodes: changed` or `nodes: unchanged`.
 */
export function renderReconcileScript(nodes: { address: string; role: SwarmRole; labels: Record<string, string> }[], configKeys: string[]): string {
  const lines = nodes.map((n) => `${checkAddress(n.address)}|${n.role}|${Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).sort().join(" ")}`);
  return `${HEADER}
# address|role|labels
readonly NODES='${lines.join("\n")}'
readonly CONFIG_KEYS=' ${[...new Set(configKeys)].sort().join(" ")} '
managed() { [[ "$1" == openclaw.* || "\${CONFIG_KEYS}" == *" $1 "* ]]; }
# shellcheck disable=SC2046 # one argument per node id
members=$(docker node inspect --format '{{.ID}} {{.Status.Addr}}' $(docker node ls -q))
# Every configured node must be a member before anything changes.
ids=()
while IFS='|' read -r address _; do
  id=$(awk -v a="\${address}" '$2 == a { print $1 }' <<<"\${members}")
  if [[ -z "\${id}" ]]; then
    echo "nodes: no swarm member has the address \${address}: did it join?" >&2
    exit 1
  fi
  ids+=("\${id}")
done <<<"\${NODES}"
changed=0
i=0
while IFS='|' read -r address role labels; do
  id=\${ids[i]}
  i=$((i + 1))
  args=()
  if [[ "$(docker node inspect --format '{{.Spec.Role}}' "\${id}")" != "\${role}" ]]; then
    args+=(--role "\${role}")
  fi
  current=$(docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}}{{"\\n"}}{{end}}' "\${id}")
  while IFS='=' read -r key _; do
    if [[ -n "\${key}" ]] && managed "\${key}" && [[ " \${labels} " != *" \${key}="* ]]; then
      args+=(--label-rm "\${key}")
    fi
  done <<<"\${current}"
  for label in \${labels}; do
    grep -qxF "\${label}" <<<"\${current}" || args+=(--label-add "\${label}")
  done
  if ((\${#args[@]} > 0)); then
    docker node update "\${args[@]}" "\${id}" >/dev/null
    echo "node \${address}: \${args[*]}" >&2
    changed=1
  fi
done <<<"\${NODES}"
if ((changed)); then echo "nodes: changed"; else echo "nodes: unchanged"; fi
`;
}

/**
 * Exits 1 naming every listed service whose tasks cannot be placed (e.g.
 * no node carries the trusted label), with the scheduler's own message,
 * instead of leaving them silently pending.
 */
export function renderPlacementCheckScript(services: string[]): string {
  for (const s of services) if (!/^[a-z][a-z0-9-]*$/.test(s)) throw new Error(`swarm: ${s} is not a service name`);
  return `${HEADER}
readonly SERVICES=(${services.join(" ")})
failed=0
for service in "\${SERVICES[@]}"; do
  if ! tasks=$(docker service ps --no-trunc --filter desired-state=running --format '{{.CurrentState}}|{{.Error}}' "\${service}" 2>&1); then
    echo "\${service}: \${tasks}" >&2
    failed=1
    continue
  fi
  while IFS='|' read -r state error; do
    if [[ "\${state}" == Pending* ]]; then
      echo "\${service}: cannot be placed: \${error:-pending}" >&2
      failed=1
    fi
  done <<<"\${tasks}"
done
exit "\${failed}"
`;
}

export interface SwarmClusterNode extends SwarmNodeSpec {
  host: Host;
}

export interface SwarmClusterArgs {
  /** Every node; the first manager bootstraps the swarm and runs the reconcile. */
  nodes: SwarmClusterNode[];
  /** The only node labelled openclaw.trusted=true. */
  trustedNode: string;
  /** init (default): create the swarm; adopt: the first manager already runs one. */
  mode: "init" | "adopt";
  /** Autolock managers (CIS 7.5); default true. */
  autolock: boolean;
  /** Resources the label move waits for (the state restore on the trusted node). */
  labelsAfter?: pulumi.Input<pulumi.Resource>[];
}

interface Credentials {
  manager: string;
  worker: string;
  unlockKey: string;
}

export class SwarmCluster extends pulumi.ComponentResource {
  /** The node that bootstrapped the swarm: swarm objects are created through its daemon. */
  readonly leader: SwarmClusterNode;
  /** Node name → swarm node id. */
  readonly nodeIds: pulumi.Output<Record<string, string>>;
  /** The autolock unlock key (secret; empty when autolock is off). */
  readonly unlockKey: pulumi.Output<string>;
  /** Done when every node joined and carries its labels: services depend on this. */
  readonly ready: command.remote.Command;

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:SwarmCluster", name, {}, opts);
    const leader = args.nodes.find((n) => n.role === "manager");
    if (!leader) throw new Error("swarm: no manager node");
    if (!args.nodes.some((n) => n.name === args.trustedNode)) throw new Error(`swarm: trusted node ${args.trustedNode} is not a node`);
    this.leader = leader;

    const bootstrap = new command.remote.Command(`${name}-bootstrap`, {
      connection: leader.host.connection,
      create: asRoot(renderBootstrapScript({ mode: args.mode, address: leader.address, autolock: args.autolock })),
    }, { parent: this });

    const credentials = new command.remote.Command(`${name}-credentials`, {
      connection: leader.host.connection,
      create: asRoot(renderCredentialsScript()),
      logging: "none",
      triggers: [bootstrap.stdout],
    }, { parent: this, additionalSecretOutputs: ["stdout"] });
    const creds = credentials.stdout.apply((s): Credentials => {
      const [manager = "", worker = "", unlockKey = ""] = s.split("\n");
      return { manager, worker, unlockKey };
    });
    this.unlockKey = pulumi.secret(creds.apply((c) => c.unlockKey));

    const ids: Record<string, pulumi.Output<string>> = { [leader.name]: bootstrap.stdout.apply((s) => s.trim()) };
    const joins = args.nodes.filter((n) => n !== leader).map((node) => {
      const join = new command.remote.Command(`${name}-join-${node.name}`, {
        connection: node.host.connection,
        create: asRoot(renderJoinScript({ address: node.address })),
        stdin: pulumi.secret(pulumi.interpolate`${creds.apply((c) => c[node.role])}\n${hostPort(leader.address, SWARM_PORT)}\n`),
        // Workers leave on delete; a manager must be demoted first (docs/operations.md).
        delete: asRoot(`if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = false ]; then docker swarm leave; fi`),
      }, { parent: this, dependsOn: [credentials] });
      ids[node.name] = pulumi.unsecret(join.stdout).apply((s) => s.trim());
      return join;
    });
    this.nodeIds = pulumi.all(ids);

    const configKeys = args.nodes.flatMap((n) => Object.keys(n.labels));
    // On the trusted node when it is a manager: a failover then needs no SSH to the node that failed.
    const trusted = args.nodes.find((n) => n.name === args.trustedNode)!;
    const control = trusted.role === "manager" ? trusted : leader;
    this.ready = new command.remote.Command(`${name}-nodes`, {
      connection: control.host.connection,
      create: asRoot(renderReconcileScript(args.nodes.map((n) => ({ address: n.address, role: n.role, labels: desiredLabels(n, args.trustedNode) })), configKeys)),
    }, { parent: this, dependsOn: [bootstrap, ...joins, ...(args.labelsAfter ?? [])] });

    this.registerOutputs({ nodeIds: this.nodeIds, unlockKey: this.unlockKey });
  }
}
