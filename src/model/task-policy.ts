/**
 * The host's policy for what a desired task may ask of it, as a pure function over the internal `TaskSpec`,
 * so every source (the local task directory today, ACS later) refuses the same things with the same words.
 * Schema and definition checks say whether a task is well formed; this says whether this host lets it run:
 *   - a bind mount of the host root `/`, or of the agent's own data directory (inside it or above it), is
 *     refused unless the operator allows it (`ECSD_ALLOW_SENSITIVE_HOST_MOUNTS`): such a mount hands the
 *     task the agent's database or the whole host;
 *   - a `containerPath` is an absolute path without `:`, so no Docker mount option (`/data:z` relabels,
 *     `/mnt:rshared` changes propagation) can ride in on a path;
 *   - a privileged container is refused when `ECS_DISABLE_PRIVILEGED=true`, as upstream does;
 *   - `pidMode`/`ipcMode` `task` are refused: ecsd has no task-level namespaces yet, and a field that is
 *     accepted must never be silently ignored;
 *   - a container's environment is bounded (`ENVIRONMENT_MAX_BYTES`): Linux refuses a single `NAME=value`
 *     over 128 KiB at exec, and an unbounded value is memory the agent holds for the task's whole life.
 * Paths checked are lexical (normalised, not resolved): the check runs where the files may not exist.
 * Issue paths use the RegisterTaskDefinition field names (`containerDefinitions[0].privileged`), which the
 * ACS model shares, so a message points at the field a person wrote.
 */
import { posix } from 'node:path';
import type { ContainerSpec, TaskSpec } from './task.js';

/** A container's environment, all `NAME=value` strings together (UTF-8 bytes): the ECS task-definition cap. */
export const ENVIRONMENT_MAX_BYTES = 64 * 1024;

export interface TaskPolicy {
  /** `ECS_DISABLE_PRIVILEGED`. */
  disablePrivileged: boolean;
  /** `ECSD_ALLOW_SENSITIVE_HOST_MOUNTS`: allow bind mounts of `/` and of the data directory. */
  allowSensitiveHostMounts: boolean;
  /** `ECS_DATADIR`; undefined when the agent keeps no data directory worth protecting. */
  dataDir?: string;
}

export const DEFAULT_TASK_POLICY: Readonly<TaskPolicy> = Object.freeze({
  disablePrivileged: false,
  allowSensitiveHostMounts: false,
});

export interface PolicyIssue {
  /** Dotted path in RegisterTaskDefinition terms; `''` for the whole task. */
  path: string;
  message: string;
}

const NAMESPACES_NOT_SUPPORTED = 'task-level pid/ipc namespaces are not supported yet (use "host" or leave it unset)';

export function checkTaskPolicy(spec: TaskSpec, policy: TaskPolicy = DEFAULT_TASK_POLICY): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (spec.pidMode === 'task')
    issues.push({ path: 'pidMode', message: `"task" is refused: ${NAMESPACES_NOT_SUPPORTED}` });
  if (spec.ipcMode === 'task')
    issues.push({ path: 'ipcMode', message: `"task" is refused: ${NAMESPACES_NOT_SUPPORTED}` });

  spec.volumes.forEach((volume, i) => {
    if (volume.type !== 'host' || volume.sourcePath === undefined || volume.sourcePath === '') return;
    const path = `volumes[${i}].host.sourcePath`;
    const problem = sourcePathProblem(volume.sourcePath, policy);
    if (problem !== undefined) issues.push({ path, message: problem });
  });

  spec.containers.forEach((container, i) => {
    const at = `containerDefinitions[${i}]`;
    container.mountPoints.forEach((mount, k) => {
      const problem = containerPathProblem(mount.containerPath);
      if (problem !== undefined) issues.push({ path: `${at}.mountPoints[${k}].containerPath`, message: problem });
    });
    if (policy.disablePrivileged && isPrivileged(container)) {
      issues.push({
        path: `${at}.privileged`,
        message: 'privileged containers are disabled on this host (ECS_DISABLE_PRIVILEGED=true)',
      });
    }
    for (const [k, bind] of overlayBinds(container).entries()) {
      const source = bind.split(':')[0] ?? '';
      if (!source.startsWith('/')) continue;
      const problem = sensitiveMountProblem(source, policy);
      if (problem !== undefined) issues.push({ path: `${at}.dockerConfig.hostConfig.Binds[${k}]`, message: problem });
    }
    const environmentBytes = Object.entries(container.environment).reduce(
      (sum, [name, value]) => sum + Buffer.byteLength(name) + 1 + Buffer.byteLength(value),
      0,
    );
    if (environmentBytes > ENVIRONMENT_MAX_BYTES) {
      issues.push({
        path: `${at}.environment`,
        message: `${environmentBytes} bytes of NAME=value exceeds the ${ENVIRONMENT_MAX_BYTES}-byte limit per container`,
      });
    }
  });
  return issues;
}

function containerPathProblem(containerPath: string): string | undefined {
  if (!containerPath.startsWith('/')) return 'must be an absolute path (start with "/")';
  if (containerPath.includes(':')) {
    return 'must not contain ":" (mount options such as ":z" or ":rshared" cannot be given in a path)';
  }
  return undefined;
}

function sourcePathProblem(sourcePath: string, policy: TaskPolicy): string | undefined {
  if (!sourcePath.startsWith('/')) return 'must be an absolute host path (start with "/")';
  if (sourcePath.includes(':')) return 'must not contain ":" (it would be read as a mount option)';
  return sensitiveMountProblem(sourcePath, policy);
}

/** `/`, the data directory, anything inside it or any directory above it. */
function sensitiveMountProblem(sourcePath: string, policy: TaskPolicy): string | undefined {
  if (policy.allowSensitiveHostMounts) return undefined;
  const source = normalise(sourcePath);
  const allow = 'set ECSD_ALLOW_SENSITIVE_HOST_MOUNTS=true to allow it';
  if (source === '/') return `a bind mount of the host root "/" is refused (${allow})`;
  if (policy.dataDir === undefined || policy.dataDir === '') return undefined;
  const dataDir = normalise(policy.dataDir);
  if (isWithin(source, dataDir) || isWithin(dataDir, source)) {
    return `"${sourcePath}" overlaps the agent's data directory ${dataDir} (ECS_DATADIR); refused (${allow})`;
  }
  return undefined;
}

function normalise(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** Whether `inner` is `outer` or lies below it (both normalised). */
function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer === '/' ? '/' : `${outer}/`);
}

/** `Privileged` in the hostConfig overlay; Docker matches field names case-insensitively, so do we. */
function isPrivileged(container: ContainerSpec): boolean {
  return overlayField(container, 'privileged') === true;
}

/** `Binds` an ACS payload may carry in its hostConfig overlay (a local file cannot write the overlay). */
function overlayBinds(container: ContainerSpec): string[] {
  const binds = overlayField(container, 'binds');
  return Array.isArray(binds) ? binds.filter((b): b is string => typeof b === 'string') : [];
}

function overlayField(container: ContainerSpec, lowerName: string): unknown {
  const text = container.dockerConfig.hostConfig;
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // An undecodable overlay fails the create with upstream's message; it is not this check's to report.
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  for (const [key, field] of Object.entries(value)) if (key.toLowerCase() === lowerName) return field;
  return undefined;
}
