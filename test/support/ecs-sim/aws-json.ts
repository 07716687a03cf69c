/**
 * AWS JSON 1.1 framing (fact sheet 1.1): which service and operation an `X-Amz-Target` names, and the
 * error shape (`__type` + `message`, plus the `x-amzn-ErrorType` header) the SDK's deserializer maps to an
 * exception class by name.
 */

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export const JSON_11_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Target prefix → the SigV4 service name its requests are signed for. */
export const TARGET_PREFIXES = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
} as const;
export type SimService = (typeof TARGET_PREFIXES)[keyof typeof TARGET_PREFIXES];

export interface ParsedTarget {
  service: SimService;
  operation: string;
}

export function parseTarget(target: string | undefined): ParsedTarget | undefined {
  if (target === undefined) return undefined;
  const dot = target.indexOf('.');
  if (dot <= 0) return undefined;
  const prefix = target.slice(0, dot);
  const operation = target.slice(dot + 1);
  if (!Object.hasOwn(TARGET_PREFIXES, prefix) || operation === '') return undefined;
  return { service: TARGET_PREFIXES[prefix as keyof typeof TARGET_PREFIXES], operation };
}

/** Error names this backend answers with; each is one the SDK or its retry strategy recognises by name. */
export type AwsErrorType =
  | 'AccessDeniedException'
  | 'ClusterNotFoundException'
  | 'InvalidParameterException'
  | 'ClientException'
  | 'ServerException'
  | 'ThrottlingException'
  | 'UnknownOperationException'
  | 'SerializationException'
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'UnrecognizedClientException'
  | 'InvalidSignatureException';

/** An error response: thrown by operation handlers, written by the server. */
export class AwsJsonError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: AwsErrorType,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

export const clientError = (type: AwsErrorType, message: string): AwsJsonError => new AwsJsonError(400, type, message);

export function writeJson(
  res: ServerResponse,
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': JSON_11_CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

export function writeAwsError(res: ServerResponse, error: AwsJsonError): void {
  writeJson(res, error.statusCode, { __type: error.type, message: error.message }, { 'x-amzn-errortype': error.type });
}
