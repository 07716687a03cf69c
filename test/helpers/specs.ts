/** Builders for the internal task model, shared by the tests that need a TaskSpec or ContainerSpec. */
import type { ContainerSpec, DockerVolumeSpec, TaskSpec } from '../../src/model/task.js';

/** A container spec with every list empty and nothing limited; override what the test is about. */
export function containerSpec(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name,
    image: `img-${name}:1`,
    environment: {},
    essential: true,
    cpuUnits: 0,
    memoryMiB: 0,
    portMappings: [],
    mountPoints: [],
    volumesFrom: [],
    links: [],
    dependsOn: [],
    dockerConfig: {},
    startTimeoutSec: 0,
    stopTimeoutSec: 0,
    ...overrides,
  };
}

/** A bridge-mode local task, desired RUNNING, family `web` revision 3, no volumes. */
export function taskSpecWith(arn: string, containers: ContainerSpec[], overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    arn,
    family: 'web',
    version: '3',
    source: 'local',
    desiredStatus: 'RUNNING',
    networkMode: 'bridge',
    cpuVcpu: 0,
    memoryMiB: 0,
    containers,
    volumes: [],
    ...overrides,
  };
}

/** A shared, autoprovisioned Docker volume with the local driver and no options or labels. */
export function sharedDockerVolume(name: string): DockerVolumeSpec {
  return { name, type: 'docker', scope: 'shared', autoprovision: true, driver: 'local', driverOpts: {}, labels: {} };
}
