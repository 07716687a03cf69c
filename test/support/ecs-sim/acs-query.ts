/**
 * The ACS connect checks of fact sheet 2.1: exactly the documented query parameters, with the values an
 * agent must send, naming a registered, active instance of an existing cluster. A failure says which
 * bare-error type the backend answers (fact sheet 2.3: `{"<ExceptionName>":"<text>"}`).
 */
import { clusterName } from './arns.js';
import type { SimState } from './state.js';

export type AcsRejectionType =
  | 'BadRequestException'
  | 'AccessDeniedException'
  | 'InvalidClusterException'
  | 'InvalidInstanceException'
  | 'InactiveInstanceException'
  | 'ServerException';

export type QueryVerdict =
  | { ok: true; query: Record<string, string> }
  | { ok: false; type: AcsRejectionType; message: string };

const REQUIRED = [
  'agentHash',
  'agentVersion',
  'clusterArn',
  'containerInstanceArn',
  'protocolVersion',
  'sendCredentials',
  'seqNum',
] as const;
const OPTIONAL = ['dockerVersion'] as const;
const KNOWN: readonly string[] = [...REQUIRED, ...OPTIONAL];

export function checkAcsQuery(query: Record<string, string | string[]>, state: SimState): QueryVerdict {
  const bad = (message: string): QueryVerdict => ({ ok: false, type: 'BadRequestException', message });
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) return bad(`query parameter ${key} given ${value.length} times`);
    if (!KNOWN.includes(key)) return bad(`unknown query parameter ${key}`);
    flat[key] = value;
  }
  for (const key of REQUIRED) {
    if (flat[key] === undefined || flat[key] === '') return bad(`query parameter ${key} is required`);
  }
  if (flat['protocolVersion'] !== '2') return bad(`protocolVersion must be 2, got ${flat['protocolVersion']}`);
  if (flat['seqNum'] !== '1') return bad(`seqNum must be 1, got ${flat['seqNum']}`);
  if (flat['sendCredentials'] !== 'true' && flat['sendCredentials'] !== 'false') {
    return bad(`sendCredentials must be true or false, got ${flat['sendCredentials']}`);
  }
  const docker = flat['dockerVersion'];
  if (docker !== undefined && docker !== 'containerd' && !/^DockerVersion: \S/.test(docker)) {
    return bad(`dockerVersion must read "DockerVersion: <version>", got ${JSON.stringify(docker)}`);
  }
  const cluster = clusterName(flat['clusterArn']);
  if (!state.clusters.has(cluster)) {
    return { ok: false, type: 'InvalidClusterException', message: `cluster ${flat['clusterArn']} does not exist` };
  }
  const instance = state.instances.get(flat['containerInstanceArn']!);
  if (instance === undefined || instance.cluster !== cluster) {
    return {
      ok: false,
      type: 'InvalidInstanceException',
      message: `container instance ${flat['containerInstanceArn']} is not registered in cluster ${cluster}`,
    };
  }
  if (!instance.active) {
    return { ok: false, type: 'InactiveInstanceException', message: `container instance ${instance.arn} is inactive` };
  }
  return { ok: true, query: flat };
}
