/**
 * Rules the JSON Schema cannot express, checked on a definition that already passed the schema. Most
 * mirror what `RegisterTaskDefinition` itself refuses (unique names, references that must resolve, port
 * rules per network mode, memory rules for the EC2 launch type); the rest name what a host with no AWS
 * account cannot provide (secrets, S3 env files, ENIs…), so the user learns it from the file, not from
 * a task that fails minutes later.
 *
 * Deliberately NOT checked here: dependency cycles. The containers loop stops such a task with the
 * upstream reason (fact sheet 4.5), and the same rule must apply to ACS and local tasks alike.
 */
import { type DefinitionIssue, joinPath } from './task-definition-schema.js';
import type { ContainerDefinition, PortMappingDefinition, TaskDefinition } from './task-definition-types.js';
import { parsePortRange, parseTaskMemoryMiB } from './task-definition-units.js';

/** Why local mode refuses a field: nothing on this host can resolve it. */
const LOCAL_UNSUPPORTED_CONTAINER_FIELDS: ReadonlyArray<[keyof ContainerDefinition, string]> = [
  ['secrets', 'secrets need Secrets Manager / SSM, which the local task source has no access to'],
  ['environmentFiles', 'environment files live in S3, which the local task source has no access to'],
  ['repositoryCredentials', 'private registry credentials come from Secrets Manager, not available locally'],
  ['firelensConfiguration', 'FireLens log routing is not supported by ecsd'],
  ['resourceRequirements', 'GPU / inference accelerator assignment is not supported by ecsd'],
  ['credentialSpecs', 'gMSA credential specs are Windows-only and not supported by ecsd'],
];

const LOCAL_UNSUPPORTED_TASK_FIELDS: ReadonlyArray<[keyof TaskDefinition, string]> = [
  ['proxyConfiguration', 'App Mesh proxy configuration is not supported by ecsd'],
  ['inferenceAccelerators', 'Elastic Inference accelerators are not supported by ecsd'],
];

/** sysctl namespaces that belong to the IPC namespace (Docker refuses them with `--ipc=host`). */
const IPC_SYSCTL = /^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\.)/;

export function checkTaskDefinition(def: TaskDefinition): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const add = (path: string, message: string): void => {
    issues.push({ path, message });
  };
  const networkMode = def.networkMode ?? 'bridge';
  const containers = def.containerDefinitions;

  if (networkMode === 'awsvpc') {
    add(
      'networkMode',
      '"awsvpc" needs an elastic network interface attached by ECS; the local task source has no ENI (use bridge, host or none)',
    );
  }
  for (const [field, why] of LOCAL_UNSUPPORTED_TASK_FIELDS) {
    if (def[field] !== undefined) add(field, `not supported in local mode: ${why}`);
  }

  const containerIndex = new Map<string, number>();
  containers.forEach((container, i) => {
    const first = containerIndex.get(container.name);
    if (first !== undefined) {
      add(
        `containerDefinitions[${i}].name`,
        `duplicate container name "${container.name}" (also containerDefinitions[${first}])`,
      );
    } else {
      containerIndex.set(container.name, i);
    }
  });
  if (!containers.some((c) => c.essential !== false)) {
    add('containerDefinitions', 'at least one container must be essential');
  }

  const volumeIndex = checkVolumes(def, add);
  const taskMemoryMiB = def.memory === undefined ? undefined : parseTaskMemoryMiB(def.memory);

  containers.forEach((container, i) => {
    const at = `containerDefinitions[${i}]`;
    const refersTo = (path: string, name: string): void => {
      if (!containerIndex.has(name)) add(path, `unknown container "${name}"`);
      else if (name === container.name) add(path, 'a container cannot refer to itself');
    };

    for (const [field, why] of LOCAL_UNSUPPORTED_CONTAINER_FIELDS) {
      if (container[field] !== undefined) add(joinPath(at, field), `not supported in local mode: ${why}`);
    }
    if (container.restartPolicy?.enabled === true) {
      add(`${at}.restartPolicy`, 'container restart policies are not supported by ecsd yet');
    }
    const log = container.logConfiguration;
    if (log?.logDriver === 'awsfirelens') {
      add(`${at}.logConfiguration.logDriver`, 'not supported in local mode: FireLens log routing is not supported');
    }
    if (log?.secretOptions !== undefined) {
      add(`${at}.logConfiguration.secretOptions`, 'not supported in local mode: secrets need Secrets Manager / SSM');
    }

    (container.links ?? []).forEach((link, k) => {
      refersTo(`${at}.links[${k}]`, link.split(':')[0] ?? link);
    });
    if ((container.links ?? []).length > 0 && networkMode !== 'bridge') {
      add(`${at}.links`, `links are only supported with networkMode "bridge" (task uses "${networkMode}")`);
    }
    (container.volumesFrom ?? []).forEach((from, k) => {
      refersTo(`${at}.volumesFrom[${k}].sourceContainer`, from.sourceContainer);
    });
    (container.dependsOn ?? []).forEach((dep, k) => {
      const path = `${at}.dependsOn[${k}].containerName`;
      refersTo(path, dep.containerName);
      const target = containers[containerIndex.get(dep.containerName) ?? -1];
      if (dep.condition === 'HEALTHY' && target && target.name !== container.name && !target.healthCheck) {
        add(`${at}.dependsOn[${k}].condition`, `HEALTHY needs a healthCheck on container "${dep.containerName}"`);
      }
    });
    (container.mountPoints ?? []).forEach((mount, k) => {
      if (!volumeIndex.has(mount.sourceVolume)) {
        add(`${at}.mountPoints[${k}].sourceVolume`, `unknown volume "${mount.sourceVolume}" (not in volumes[])`);
      }
    });

    checkContainerMemory(container, at, taskMemoryMiB, add);
    checkPortMappings(container, at, networkMode, add);

    const command = container.healthCheck?.command[0];
    if (command !== undefined && !['CMD', 'CMD-SHELL', 'NONE'].includes(command)) {
      add(`${at}.healthCheck.command[0]`, 'must be "CMD", "CMD-SHELL" or "NONE" (the Docker HEALTHCHECK form)');
    }
    (container.systemControls ?? []).forEach((control, k) => {
      if (networkMode === 'host' && control.namespace.startsWith('net.')) {
        add(`${at}.systemControls[${k}].namespace`, 'network sysctls cannot be set with networkMode "host"');
      }
      if (def.ipcMode === 'host' && IPC_SYSCTL.test(control.namespace)) {
        add(`${at}.systemControls[${k}].namespace`, 'IPC sysctls cannot be set with ipcMode "host"');
      }
    });
  });

  checkHostPortConflicts(containers, networkMode, add);
  return issues;
}

type AddIssue = (path: string, message: string) => void;

function checkVolumes(def: TaskDefinition, add: AddIssue): Map<string, number> {
  const volumeIndex = new Map<string, number>();
  (def.volumes ?? []).forEach((volume, i) => {
    const first = volumeIndex.get(volume.name);
    if (first !== undefined)
      add(`volumes[${i}].name`, `duplicate volume name "${volume.name}" (also volumes[${first}])`);
    else volumeIndex.set(volume.name, i);
    const kinds = (
      [
        'host',
        'dockerVolumeConfiguration',
        'efsVolumeConfiguration',
        'fsxWindowsFileServerVolumeConfiguration',
      ] as const
    ).filter((kind) => volume[kind] !== undefined);
    if (kinds.length > 1) add(`volumes[${i}]`, `only one volume type may be set, found ${kinds.join(' and ')}`);
  });
  return volumeIndex;
}

function checkContainerMemory(
  container: ContainerDefinition,
  at: string,
  taskMemoryMiB: number | undefined,
  add: AddIssue,
): void {
  const { memory, memoryReservation } = container;
  if (memory === undefined && memoryReservation === undefined && (taskMemoryMiB === undefined || taskMemoryMiB === 0)) {
    // RegisterTaskDefinition's rule for the EC2 launch type.
    add(at, 'at least one of "memory" or "memoryReservation" must be set when the task has no memory');
  }
  if (memory !== undefined && memoryReservation !== undefined && memoryReservation > memory) {
    add(`${at}.memoryReservation`, `must not exceed memory (${memory} MiB)`);
  }
  if (memory !== undefined && taskMemoryMiB !== undefined && taskMemoryMiB > 0 && memory > taskMemoryMiB) {
    // The agent refuses this at task-cgroup time (fact sheet 9); say it now instead.
    add(`${at}.memory`, `exceeds the task memory (${taskMemoryMiB} MiB)`);
  }
  if (container.linuxParameters?.maxSwap !== undefined && memory === undefined) {
    // Docker refuses a swap limit without a memory limit ("You should always set the Memory limit…").
    add(`${at}.linuxParameters.maxSwap`, 'needs the container "memory" hard limit to be set');
  }
}

function checkPortMappings(container: ContainerDefinition, at: string, networkMode: string, add: AddIssue): void {
  const mappings = container.portMappings ?? [];
  if (mappings.length > 0 && networkMode === 'none') {
    add(`${at}.portMappings`, 'port mappings cannot be used with networkMode "none"');
    return;
  }
  mappings.forEach((mapping, k) => {
    const path = `${at}.portMappings[${k}]`;
    if (mapping.containerPortRange !== undefined) {
      if (mapping.containerPort !== undefined) {
        add(path, 'set either containerPort or containerPortRange, not both');
      }
      if (mapping.hostPort !== undefined) {
        add(`${path}.hostPort`, 'cannot be set with containerPortRange (host ports are assigned)');
      }
      if (!parsePortRange(mapping.containerPortRange)) {
        add(`${path}.containerPortRange`, 'must be "start-end" with 1 <= start < end <= 65535');
      }
      return;
    }
    if (mapping.containerPort === undefined) {
      add(`${path}.containerPort`, 'is required (or containerPortRange)');
      return;
    }
    if (mapping.containerPort === 0) add(`${path}.containerPort`, 'must be between 1 and 65535');
    if (networkMode === 'host' && mapping.hostPort !== undefined && mapping.hostPort !== mapping.containerPort) {
      add(`${path}.hostPort`, `must equal containerPort (${mapping.containerPort}) with networkMode "host"`);
    }
  });
}

/** Host ports fixed by the definition, per protocol; two mappings may not claim the same one (ECS rule). */
function checkHostPortConflicts(containers: ContainerDefinition[], networkMode: string, add: AddIssue): void {
  const claimed = new Map<string, string>();
  containers.forEach((container, i) => {
    (container.portMappings ?? []).forEach((mapping, k) => {
      const path = `containerDefinitions[${i}].portMappings[${k}]`;
      for (const port of fixedHostPorts(mapping, networkMode)) {
        const key = `${port}/${mapping.protocol ?? 'tcp'}`;
        const owner = claimed.get(key);
        if (owner !== undefined) {
          add(path, `host port ${key} is already used by ${owner}`);
          break;
        }
        claimed.set(key, path);
      }
    });
  });
}

function fixedHostPorts(mapping: PortMappingDefinition, networkMode: string): number[] {
  if (networkMode === 'host') {
    if (mapping.containerPort !== undefined) return [mapping.containerPort];
    const range = mapping.containerPortRange === undefined ? undefined : parsePortRange(mapping.containerPortRange);
    if (!range) return [];
    return Array.from({ length: range[1] - range[0] + 1 }, (_, n) => range[0] + n);
  }
  return mapping.hostPort !== undefined && mapping.hostPort > 0 ? [mapping.hostPort] : [];
}
