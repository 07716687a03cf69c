/**
 * The RegisterContainerInstance request, built exactly as fact sheet 1.4 describes (a pure function, so the
 * wire shape is testable without a server): totalResources, versionInfo, attributes, tags, clientToken, and
 * the saved ARN on re-registration.
 */
import type { Resource } from '@aws-sdk/client-ecs';
import type { AgentConfig } from '../config/types.js';
import { AgentStartError } from '../errors.js';
import { type Attribute, capabilityAttributes, type EngineFacts } from './capabilities.js';
import type { RegisterInstanceInput } from './client.js';

/** The ECS limit on tags per resource (fact sheet 1.4). */
export const MAX_INSTANCE_TAGS = 50;
const MIB = 1024 * 1024;

export interface RegistrationInputs {
  config: AgentConfig;
  engine: EngineFacts;
  cluster: string;
  /** The saved ARN: present on re-registration. */
  containerInstanceArn?: string;
  clientToken: string;
  agentVersion: string;
  agentHash: string;
  /** `process.arch`, for ecs.cpu-architecture (external mode only). */
  arch: string;
}

/** CPU, MEMORY, PORTS, PORTS_UDP; a zero number is omitted, as upstream's serializer does. */
export function totalResources(config: AgentConfig, engine: EngineFacts): Resource[] {
  const cpuUnits = engine.ncpu * 1024;
  const memoryMiB = Math.floor(engine.memTotalBytes / MIB) - config.reservedMemoryMiB;
  if (memoryMiB < 0) {
    throw new AgentStartError(
      `ECS_RESERVED_MEMORY (${config.reservedMemoryMiB} MiB) is more than the host's memory (${Math.floor(engine.memTotalBytes / MIB)} MiB)`,
      'terminal',
    );
  }
  const integer = (name: string, value: number): Resource => ({
    name,
    type: 'INTEGER',
    ...(value === 0 ? {} : { integerValue: value }),
  });
  return [
    integer('CPU', cpuUnits),
    integer('MEMORY', memoryMiB),
    { name: 'PORTS', type: 'STRINGSET', stringSetValue: config.reservedPorts.map(String) },
    { name: 'PORTS_UDP', type: 'STRINGSET', stringSetValue: config.reservedPortsUdp.map(String) },
  ];
}

/** Go's names for the architectures ECS knows (fact sheet 1.4: `x86_64`/`arm64`). */
function cpuArchitecture(arch: string): string {
  return arch === 'x64' ? 'x86_64' : arch;
}

/**
 * Custom attributes (first registration only), capabilities, then the OS attributes. Upstream sends custom
 * attributes only without a saved ARN: the backend keeps them on the instance, and resending would undo a
 * change made since with PutAttributes.
 */
export function registrationAttributes(inputs: RegistrationInputs): Attribute[] {
  const { config } = inputs;
  const custom =
    inputs.containerInstanceArn === undefined
      ? Object.entries(config.instanceAttributes).map(([name, value]) => ({ name, value }))
      : [];
  return [
    ...custom,
    ...capabilityAttributes(config, inputs.engine),
    { name: 'ecs.os-type', value: 'linux' },
    { name: 'ecs.os-family', value: 'LINUX' },
    { name: 'ecs.os-type-detailed', value: config.detailedOsFamily || 'LINUX' },
    ...(config.external ? [{ name: 'ecs.cpu-architecture', value: cpuArchitecture(inputs.arch) }] : []),
  ];
}

export function registrationRequest(inputs: RegistrationInputs): RegisterInstanceInput {
  const { config } = inputs;
  const tags = Object.entries(config.containerInstanceTags).map(([key, value]) => ({ key, value }));
  if (tags.length > MAX_INSTANCE_TAGS) {
    throw new AgentStartError(
      `ECS_CONTAINER_INSTANCE_TAGS has ${tags.length} tags; ECS accepts at most ${MAX_INSTANCE_TAGS}`,
      'terminal',
    );
  }
  return {
    cluster: inputs.cluster,
    ...(inputs.containerInstanceArn === undefined ? {} : { containerInstanceArn: inputs.containerInstanceArn }),
    // ecsd never reads IMDS, so the identity document is always empty — as upstream sends it in external mode.
    instanceIdentityDocument: '',
    instanceIdentityDocumentSignature: '',
    totalResources: totalResources(config, inputs.engine),
    versionInfo: {
      agentVersion: inputs.agentVersion,
      agentHash: inputs.agentHash,
      dockerVersion: `DockerVersion: ${inputs.engine.serverVersion}`,
    },
    attributes: registrationAttributes(inputs),
    ...(tags.length === 0 ? {} : { tags }),
    clientToken: inputs.clientToken,
  };
}
