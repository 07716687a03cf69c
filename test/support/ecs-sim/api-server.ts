/**
 * The HTTP side of the simulator: one AWS JSON 1.1 request in, one response out. Order of checks is a real
 * endpoint's: the target must name a known service, the signature must verify (403 otherwise), then the
 * content type and JSON body, then injected faults, then the operation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiFaults } from './api-faults.js';
import { AwsJsonError, clientError, JSON_11_CONTENT_TYPE, parseTarget, writeAwsError, writeJson } from './aws-json.js';
import { isObject } from './body-checks.js';
import { type ApiContext, ECR_OPERATIONS, ECS_OPERATIONS } from './ecs-api.js';
import { headerRecord } from './http-util.js';
import type { ApiCall } from './records.js';
import { verifySigV4 } from './sigv4-verify.js';

/** Far above any agent request; a bigger body is a bug worth a clear refusal. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ApiServerDeps extends ApiContext {
  faults: ApiFaults;
}

export async function handleApiRequest(req: IncomingMessage, res: ServerResponse, deps: ApiServerDeps): Promise<void> {
  const headers = headerRecord(req);
  const target = parseTarget(headers['x-amz-target']);
  const call: Omit<ApiCall, 'seq' | 'statusCode'> = {
    atMs: deps.nowMs(),
    service: target?.service ?? 'unknown',
    operation: target?.operation ?? '',
    body: undefined,
    headers,
  };
  const finish = (payload: unknown, error?: AwsJsonError): void => {
    const statusCode = error?.statusCode ?? 200;
    const recorded = deps.state.recordCall({
      ...call,
      statusCode,
      ...(error === undefined ? {} : { errorType: error.type }),
    });
    deps.settings.logger.info('api call', {
      seq: recorded.seq,
      operation: call.operation || '(none)',
      status: statusCode,
      ...(error === undefined ? {} : { error: error.type, message: error.message }),
    });
    if (error !== undefined) writeAwsError(res, error);
    else writeJson(res, 200, payload);
  };

  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch (error) {
    finish(undefined, error instanceof AwsJsonError ? error : clientError('SerializationException', String(error)));
    return;
  }
  const text = raw.toString('utf8');
  try {
    call.body = text === '' ? undefined : JSON.parse(text);
  } catch {
    call.body = undefined;
  }

  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    finish(undefined, new AwsJsonError(404, 'UnknownOperationException', `${req.method} ${req.url} is not served`));
    return;
  }
  if (target === undefined) {
    const error = clientError(
      'UnknownOperationException',
      `unknown X-Amz-Target ${headers['x-amz-target'] ?? '(none)'}`,
    );
    finish(undefined, error);
    return;
  }
  const verdict = await verifySigV4({ method: 'POST', path: '/', query: {}, headers, body: raw }, target.service, {
    accessKeyId: deps.settings.accessKeyId,
    secretAccessKey: deps.settings.secretAccessKey,
    region: deps.settings.region,
    maxSkewMs: deps.settings.maxSignatureSkewMs,
    nowMs: deps.nowMs,
    // ECR (GetAuthorizationToken) is called with a task's execution role too; the ECS API only ever with the
    // instance's own keys, so a key mix-up there still fails.
    ...(target.service === 'ecr' ? { secretFor: (id: string) => deps.state.issuedKeys.get(id) } : {}),
  });
  if (!verdict.ok) {
    finish(undefined, new AwsJsonError(403, verdict.type, verdict.message));
    return;
  }
  call.accessKeyId = verdict.accessKeyId;
  if ((headers['content-type'] ?? '').split(';')[0]!.trim() !== JSON_11_CONTENT_TYPE) {
    finish(undefined, clientError('SerializationException', `Content-Type must be ${JSON_11_CONTENT_TYPE}`));
    return;
  }
  if (!isObject(call.body)) {
    finish(undefined, clientError('SerializationException', 'the body is not a JSON object'));
    return;
  }
  const operations = target.service === 'ecs' ? ECS_OPERATIONS : ECR_OPERATIONS;
  const handler = operations[target.operation];
  if (handler === undefined) {
    finish(undefined, clientError('UnknownOperationException', `${target.operation} is not simulated`));
    return;
  }
  const fault = deps.faults.take(target.operation);
  if (fault !== undefined) {
    finish(undefined, fault);
    return;
  }
  try {
    finish(handler(call.body, deps));
  } catch (error) {
    if (error instanceof AwsJsonError) finish(undefined, error);
    else finish(undefined, new AwsJsonError(500, 'ServerException', `simulator bug: ${String(error)}`));
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AwsJsonError(413, 'SerializationException', `request body over ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
