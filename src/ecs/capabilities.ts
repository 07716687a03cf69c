/**
 * The capability attributes ecsd registers (fact sheet 1.5) — only those a feature of ecsd backs today, so
 * the backend never places a task ecsd would fail. Each line below names the feature that earns it. Left
 * out until ecsd has them: task-eni*, cni plugin versions, efs, secrets.*, private-registry auth, ecr-auth and
 * execution-role pulls (no image pulls yet), task-iam-role* (no credentials endpoint yet), firelens* and
 * logging-driver.awsfirelens, container-restart-policy, env-files.s3, network.container-port-range, full-sync,
 * execute-command, appmesh, task-eia, gpu, gmsa, service-connect, EBS, fault-injection, pid-ipc-namespace-sharing
 * (no pause container), increased-task-cpu-limit (not checked against ecsd's cgroup limits).
 */
import type { AgentConfig } from '../config/types.js';

export interface Attribute {
  name: string;
  value?: string;
}

/** What the registration needs to know about the engine and the host. */
export interface EngineFacts {
  /** Docker's `Version` (e.g. `20.10.24`). */
  serverVersion: string;
  /** The Engine API version ecsd negotiated and speaks (`1.41`): the lower of the engine's and ecsd's maximum. */
  apiVersion: string;
  ncpu: number;
  memTotalBytes: number;
  /** The `/ecs` task cgroup root was created at start-up (agent.ts probeTaskCgroups); absent means no. */
  taskCgroupEnabled?: boolean;
}

const LEGACY = 'com.amazonaws.ecs.capability.';
const CURRENT = 'ecs.capability.';

/**
 * Upstream's known Engine API versions below 1.33 (the v1.105.1 cut-off), without 1.26, 1.27 and 1.31, which
 * it no longer advertises (1.5).
 */
// biome-ignore format: one row of versions reads better than thirteen lines
const ADVERTISED_API_VERSIONS = [
  '1.17', '1.18', '1.19', '1.20', '1.21', '1.22', '1.23', '1.24', '1.25', '1.28', '1.29', '1.30', '1.32',
] as const;

/** The lowest Engine API each logging driver needs (1.5). */
const LOGGING_DRIVER_MIN_API: Readonly<Record<string, string>> = {
  'json-file': '1.18',
  syslog: '1.18',
  journald: '1.19',
  none: '1.19',
  gelf: '1.20',
  fluentd: '1.20',
  awslogs: '1.21',
  splunk: '1.22',
  logentries: '1.25',
  sumologic: '1.29',
};

/** Compare `1.9` < `1.25` numerically, part by part. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function capabilityAttributes(
  config: AgentConfig,
  engine: Pick<EngineFacts, 'apiVersion' | 'taskCgroupEnabled'>,
): Attribute[] {
  const supports = (version: string): boolean => compareApiVersions(engine.apiVersion, version) >= 0;
  const attributes: Attribute[] = [];
  const add = (name: string, value?: string): void => {
    attributes.push(value === undefined ? { name } : { name, value });
  };

  // The containers loop passes `privileged` to Docker unless task-policy.ts refuses it (ECS_DISABLE_PRIVILEGED).
  if (!config.disablePrivileged) add(`${LEGACY}privileged-container`);
  // ecsd speaks every feature up to the negotiated API, and requires ≥ 1.25 (MIN_DOCKER_API_VERSION), so the
  // versions below its minimum count as supported, as upstream's "extended" rule has it.
  for (const version of ADVERTISED_API_VERSIONS) if (supports(version)) add(`${LEGACY}docker-remote-api.${version}`);
  // logConfiguration reaches Docker's HostConfig.LogConfig as given (create-body.ts), for drivers the operator lists.
  for (const driver of config.availableLoggingDrivers) {
    const minApi = LOGGING_DRIVER_MIN_API[driver];
    if (minApi !== undefined && supports(minApi)) add(`${LEGACY}logging-driver.${driver}`);
  }
  // dockerSecurityOptions pass through as HostConfig.SecurityOpt; the host's capability is the operator's word.
  if (config.selinuxCapable) add(`${LEGACY}selinux`);
  if (config.apparmorCapable) add(`${LEGACY}apparmor`);
  // dependsOn with START/COMPLETE/SUCCESS/HEALTHY and startTimeout (reconcilers/containers plan-deps).
  add(`${CURRENT}container-ordering`);
  // Docker health checks from the task's healthCheck, reported as container health.
  if (supports('1.24') && !config.disableDockerHealthCheck) add(`${CURRENT}container-health-check`);
  // Task cpu/memory through the /ecs/<taskId> cgroup (src/host/task-cgroup.ts), when the root could be made.
  if (engine.taskCgroupEnabled === true && supports('1.22')) add(`${CURRENT}task-cpu-mem-limit`);
  // Docker volumes with the local driver (task and shared scope) — the volumes ecsd creates itself.
  add(`${CURRENT}docker-plugin.local`);
  // ECS Anywhere: no IMDS, credentials from the shared file (credentials.ts).
  if (config.external) add(`${CURRENT}external`);
  return attributes;
}

/** `-ecs-attributes` output: `name<TAB>value` per line (fact sheet 13). */
export function formatAttributes(attributes: readonly Attribute[]): string {
  return attributes.map((a) => `${a.name}\t${a.value ?? ''}\n`).join('');
}
