/**
 * The `dockerConfig` overlay for one container definition: every field the ACS container model has no
 * first-class field for (fact sheet 3.3 note) travels, as it does from the ECS backend, inside the
 * `config` / `hostConfig` JSON strings, using Docker Engine API names. The containers loop decodes those
 * strings on top of the body it builds (fact sheet 3.5), so a local task and an ACS task reach Docker
 * through exactly the same code.
 */
import type { DockerConfigOverlay } from '../../model/task.js';
import type { ContainerDefinition, DeviceDefinition, HealthCheckDefinition } from './task-definition-types.js';

const MIB = 1024 * 1024;
const NANOS_PER_SECOND = 1_000_000_000;

/** ECS's documented health check defaults (seconds); RegisterTaskDefinition fills them in, so we do too. */
export const ECS_HEALTH_CHECK_DEFAULTS = { intervalSec: 30, timeoutSec: 5, retries: 3 } as const;

export function containerDockerConfig(container: ContainerDefinition): DockerConfigOverlay {
  const config = dockerConfigFields(container);
  const hostConfig = dockerHostConfigFields(container);
  const overlay: DockerConfigOverlay = {};
  if (Object.keys(config).length > 0) overlay.config = JSON.stringify(config);
  if (Object.keys(hostConfig).length > 0) overlay.hostConfig = JSON.stringify(hostConfig);
  return overlay;
}

/** Docker `Config` fields. */
function dockerConfigFields(c: ContainerDefinition): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (c.user !== undefined) config['User'] = c.user;
  if (c.workingDirectory !== undefined) config['WorkingDir'] = c.workingDirectory;
  if (c.hostname !== undefined) config['Hostname'] = c.hostname;
  if (c.dockerLabels !== undefined) config['Labels'] = { ...c.dockerLabels };
  if (c.healthCheck !== undefined) config['Healthcheck'] = dockerHealthcheck(c.healthCheck);
  if (c.pseudoTerminal !== undefined) config['Tty'] = c.pseudoTerminal;
  if (c.interactive !== undefined) config['OpenStdin'] = c.interactive;
  if (c.disableNetworking !== undefined) config['NetworkDisabled'] = c.disableNetworking;
  return config;
}

/** Docker `HostConfig` fields. */
function dockerHostConfigFields(c: ContainerDefinition): Record<string, unknown> {
  const host: Record<string, unknown> = {};
  if (c.memoryReservation !== undefined) host['MemoryReservation'] = c.memoryReservation * MIB;
  if (c.ulimits !== undefined) {
    host['Ulimits'] = c.ulimits.map((u) => ({ Name: u.name, Soft: u.softLimit, Hard: u.hardLimit }));
  }
  if (c.logConfiguration !== undefined) {
    host['LogConfig'] = { Type: c.logConfiguration.logDriver, Config: { ...(c.logConfiguration.options ?? {}) } };
  }
  if (c.privileged !== undefined) host['Privileged'] = c.privileged;
  if (c.readonlyRootFilesystem !== undefined) host['ReadonlyRootfs'] = c.readonlyRootFilesystem;
  if (c.dnsServers !== undefined) host['Dns'] = [...c.dnsServers];
  if (c.dnsSearchDomains !== undefined) host['DnsSearch'] = [...c.dnsSearchDomains];
  if (c.extraHosts !== undefined) host['ExtraHosts'] = c.extraHosts.map((h) => `${h.hostname}:${h.ipAddress}`);
  if (c.dockerSecurityOptions !== undefined) host['SecurityOpt'] = [...c.dockerSecurityOptions];
  if (c.systemControls !== undefined) {
    host['Sysctls'] = Object.fromEntries(c.systemControls.map((s) => [s.namespace, s.value]));
  }
  const linux = c.linuxParameters;
  if (linux !== undefined) {
    if (linux.capabilities?.add !== undefined) host['CapAdd'] = [...linux.capabilities.add];
    if (linux.capabilities?.drop !== undefined) host['CapDrop'] = [...linux.capabilities.drop];
    if (linux.devices !== undefined) host['Devices'] = linux.devices.map(dockerDevice);
    if (linux.initProcessEnabled !== undefined) host['Init'] = linux.initProcessEnabled;
    if (linux.sharedMemorySize !== undefined) host['ShmSize'] = linux.sharedMemorySize * MIB;
    if (linux.tmpfs !== undefined) {
      host['Tmpfs'] = Object.fromEntries(
        linux.tmpfs.map((t) => [t.containerPath, [`size=${t.size}m`, ...(t.mountOptions ?? [])].join(',')]),
      );
    }
    // ECS maxSwap is swap on top of the hard limit; Docker's MemorySwap is memory + swap (checks require memory).
    if (linux.maxSwap !== undefined && c.memory !== undefined) host['MemorySwap'] = (c.memory + linux.maxSwap) * MIB;
    if (linux.swappiness !== undefined) host['MemorySwappiness'] = linux.swappiness;
  }
  return host;
}

/** ECS seconds → Docker nanoseconds; ECS `command` (`["CMD-SHELL", "…"]`) is Docker's `Test` as is. */
export function dockerHealthcheck(check: HealthCheckDefinition): Record<string, unknown> {
  const healthcheck: Record<string, unknown> = {
    Test: [...check.command],
    Interval: (check.interval ?? ECS_HEALTH_CHECK_DEFAULTS.intervalSec) * NANOS_PER_SECOND,
    Timeout: (check.timeout ?? ECS_HEALTH_CHECK_DEFAULTS.timeoutSec) * NANOS_PER_SECOND,
    Retries: check.retries ?? ECS_HEALTH_CHECK_DEFAULTS.retries,
  };
  // 0 / absent means "off" in ECS and Docker alike, so only a positive start period is sent.
  if (check.startPeriod !== undefined && check.startPeriod > 0) {
    healthcheck['StartPeriod'] = check.startPeriod * NANOS_PER_SECOND;
  }
  return healthcheck;
}

function dockerDevice(device: DeviceDefinition): Record<string, string> {
  const permissions = device.permissions ?? ['read', 'write', 'mknod'];
  return {
    PathOnHost: device.hostPath,
    PathInContainer: device.containerPath ?? device.hostPath,
    CgroupPermissions: [
      permissions.includes('read') ? 'r' : '',
      permissions.includes('write') ? 'w' : '',
      permissions.includes('mknod') ? 'm' : '',
    ].join(''),
  };
}
