/**
 * How a failed ECS API call is told apart (fact sheet 1.4, 1.10): the SDK's service exceptions carry the
 * exception name, `$fault` (client/server) and `$retryable`; a call that never got an answer (connection
 * refused, TLS failure, the 42 s timeout, no credentials) carries none of them and is treated as transient.
 */
import { EcsApiError, type ErrorClass, errorMessage, isEcsdError } from '../errors.js';
import type { EcsApiOperation, EcsApiResult } from '../metrics/ecs-api.js';

/** Exception names that mean "slow down", whatever their fault side. */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean } | undefined;
  $metadata?: { httpStatusCode?: number } | undefined;
}

export function classifySdkError(error: unknown): {
  errorClass: ErrorClass;
  serviceCode?: string;
  httpStatus?: number;
} {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const httpStatus = shape.$metadata?.httpStatusCode;
  const fault = shape.$fault;
  // Only a service answer has a fault side; the SDK's own errors (timeouts, sockets, credentials) do not.
  const serviceCode = fault === 'client' || fault === 'server' ? String(shape.name) : undefined;
  const base = {
    ...(serviceCode === undefined ? {} : { serviceCode }),
    ...(httpStatus === undefined ? {} : { httpStatus }),
  };
  if ((serviceCode && THROTTLING_CODES.has(serviceCode)) || shape.$retryable?.throttling) {
    return { errorClass: 'throttled', ...base };
  }
  if (fault === 'client') return { errorClass: 'terminal', ...base };
  return { errorClass: 'transient', ...base };
}

/** The SDK error retold as an EcsApiError naming the operation; EcsApiErrors (credentials) pass through. */
export function toEcsApiError(operation: EcsApiOperation, error: unknown): EcsApiError {
  if (error instanceof EcsApiError) return error;
  const { errorClass, serviceCode, httpStatus } = classifySdkError(error);
  const what = serviceCode ? `${serviceCode}: ${errorMessage(error)}` : errorMessage(error);
  return new EcsApiError(`${operation} failed: ${what}`, {
    cause: error,
    errorClass: isEcsdError(error) ? error.errorClass : errorClass,
    context: {
      operation,
      ...(serviceCode === undefined ? {} : { serviceCode }),
      ...(httpStatus === undefined ? {} : { httpStatus }),
    },
  });
}

/** The exception name the service answered with, if it answered. */
export function serviceCodeOf(error: unknown): string | undefined {
  if (error instanceof EcsApiError) {
    const code = error.context['serviceCode'];
    return typeof code === 'string' ? code : undefined;
  }
  return classifySdkError(error).serviceCode;
}

export function metricResultFor(error: EcsApiError): EcsApiResult {
  return error.errorClass === 'throttled' ? 'throttled' : 'error';
}
