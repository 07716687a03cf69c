/**
 * The ACS WebSocket URL (fact sheet 2.1): the endpoint DiscoverPollEndpoint returned, `/` if missing, `ws`,
 * then the query with keys sorted and values escaped as Go's `url.Values.Encode` does (so the URL on the wire
 * is byte-for-byte what the upstream agent sends). `https` becomes `wss`, `http` becomes `ws`.
 */
import { AcsConnectionError } from '../../errors.js';

export interface AcsUrlParams {
  /** From DiscoverPollEndpoint, e.g. `https://ecs-a-1.us-west-2.amazonaws.com/`. */
  endpoint: string;
  /** The configured cluster, name or ARN as configured or restored. */
  cluster: string;
  containerInstanceArn: string;
  agentVersion: string;
  agentHash: string;
  /** The engine's server version; omitted when unknown. `containerd` is passed raw. */
  dockerVersion?: string;
  /** True until this process first connected successfully, false on every reconnect. */
  sendCredentials: boolean;
}

/** Always `2`: the server closes the socket when heartbeat acks go missing. */
export const ACS_PROTOCOL_VERSION = '2';
/** Always `1`, carrying no state (fact sheet 2.8). */
export const ACS_URL_SEQ_NUM = '1';

export function acsUrl(params: AcsUrlParams): string {
  let base: URL;
  try {
    base = new URL(params.endpoint);
  } catch (error) {
    throw new AcsConnectionError(`the discovered ACS endpoint is not a URL: ${JSON.stringify(params.endpoint)}`, {
      cause: error,
      context: { endpoint: params.endpoint },
    });
  }
  const scheme = { 'https:': 'wss:', 'http:': 'ws:' }[base.protocol];
  if (scheme === undefined) {
    throw new AcsConnectionError(`the discovered ACS endpoint has scheme ${base.protocol}; expected https or http`, {
      context: { endpoint: params.endpoint },
    });
  }
  const path = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  const query: Record<string, string> = {
    agentHash: params.agentHash,
    agentVersion: params.agentVersion,
    clusterArn: params.cluster,
    containerInstanceArn: params.containerInstanceArn,
    protocolVersion: ACS_PROTOCOL_VERSION,
    sendCredentials: String(params.sendCredentials),
    seqNum: ACS_URL_SEQ_NUM,
  };
  if (params.dockerVersion !== undefined && params.dockerVersion !== '') {
    query['dockerVersion'] =
      params.dockerVersion === 'containerd' ? 'containerd' : `DockerVersion: ${params.dockerVersion}`;
  }
  return `${scheme}//${base.host}${path}ws?${encodeQuery(query)}`;
}

/** Go `url.Values.Encode`: keys sorted, `key=value` joined by `&`, each part `url.QueryEscape`d. */
export function encodeQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((key) => `${queryEscape(key)}=${queryEscape(query[key] ?? '')}`)
    .join('&');
}

/** Go `url.QueryEscape`: only `A-Za-z0-9-_.~` stay; space becomes `+`. */
export function queryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}
