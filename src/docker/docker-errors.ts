/**
 * How Engine API failures look (docker-modem's errors: `statusCode`, `json`, the socket's `code`), and the
 * two failures every call shares: the transport is down (DockerApiError) and the call outlived its deadline
 * (DockerTimeoutError). Per-operation meanings (404 on inspect, 304 on stop, 409 on create) are decided in
 * engine.ts next to each call.
 */
import { DockerApiError, DockerTimeoutError, type EcsdError, isEcsdError } from '../errors.js';

/** docker-modem rejects with an Error carrying the HTTP status and Docker's JSON body. */
interface ModemError extends Error {
  statusCode?: number;
  json?: unknown;
  code?: string;
}

/** Socket-level failures: the engine is down, restarting, or the socket path is wrong. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'EACCES',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as ModemError | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Docker's own message (`{"message": "..."}`), falling back to the modem's text. */
export function dockerMessageOf(error: unknown): string {
  const json = (error as ModemError | undefined)?.json;
  if (json !== null && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message;
  }
  if (typeof json === 'string' && json.trim() !== '') {
    return json.trim();
  }
  if (Buffer.isBuffer(json) && json.length > 0) {
    return json.toString('utf8').trim();
  }
  const message = error instanceof Error ? error.message : String(error);
  // A streamed call's error has no JSON body; docker-modem writes `(HTTP code 500) server error - <Docker's message> `.
  const modemPrefixed = /^\(HTTP code \d+\) [^-]*? - ([\s\S]*)$/.exec(message);
  return modemPrefixed === null ? message : modemPrefixed[1]!.trim();
}

export function isConnectionError(error: unknown): boolean {
  const code = (error as ModemError | undefined)?.code;
  return httpStatusOf(error) === undefined && typeof code === 'string' && CONNECTION_CODES.has(code);
}

export function timeoutError(op: string, context: Record<string, unknown>, timeoutMs: number): EcsdError {
  return new DockerTimeoutError(`Docker ${op} timed out after ${timeoutMs}ms`, {
    context: { op, timeoutMs, ...context },
  });
}

export function connectionError(op: string, context: Record<string, unknown>, cause: unknown): EcsdError {
  const code = (cause as ModemError | undefined)?.code;
  return new DockerApiError(`Docker API unreachable during ${op}: ${dockerMessageOf(cause)}`, {
    cause,
    context: { op, code, ...context },
  });
}

/** The fallback for an HTTP error no operation gave a meaning to: 5xx is worth retrying, 4xx is not. */
export function apiError(op: string, context: Record<string, unknown>, cause: unknown): EcsdError {
  if (isEcsdError(cause)) {
    return cause;
  }
  const status = httpStatusOf(cause);
  return new DockerApiError(dockerMessageOf(cause), {
    cause,
    context: { op, status, ...context },
    errorClass: status !== undefined && status >= 400 && status < 500 ? 'terminal' : 'transient',
  });
}
