/**
 * Injected API failures: the next N calls of an operation answer a given error instead of being handled.
 * Faults queue in the order they were asked for, so `throttle(op, 2)` then `serverError(op, 1)` answers
 * two ThrottlingExceptions and then one ServerException. A faulted call changes no state.
 */
import { type AwsErrorType, AwsJsonError } from './aws-json.js';
import { SimUsageError } from './errors.js';

/** `'*'` matches every operation. */
export type FaultOperation = string;

interface PendingFault {
  operation: FaultOperation;
  statusCode: number;
  type: AwsErrorType;
  message: string;
  remaining: number;
}

export class ApiFaults {
  private readonly pending: PendingFault[] = [];

  /** ThrottlingException, HTTP 400: the SDK's retry strategy treats it as throttling by name. */
  throttle(operation: FaultOperation, count = 1): void {
    this.add(operation, count, 400, 'ThrottlingException', 'Rate exceeded');
  }

  /** ServerException, HTTP 500: ECS's modelled server fault, retryable. */
  serverError(operation: FaultOperation, count = 1): void {
    this.add(operation, count, 500, 'ServerException', 'simulated server error');
  }

  /** InvalidParameterException, HTTP 400: terminal for registration, a dropped event for the reporter (fact sheet 1.4, 1.10). */
  invalidParameter(operation: FaultOperation, count = 1): void {
    this.add(operation, count, 400, 'InvalidParameterException', 'simulated invalid parameter');
  }

  /** ClientException, HTTP 400. */
  clientError(operation: FaultOperation, count = 1): void {
    this.add(operation, count, 400, 'ClientException', 'simulated client error');
  }

  /** The error the next call of `operation` must answer, consuming one count; undefined to handle it normally. */
  take(operation: string): AwsJsonError | undefined {
    const index = this.pending.findIndex((f) => f.operation === operation || f.operation === '*');
    if (index < 0) return undefined;
    const fault = this.pending[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending.splice(index, 1);
    return new AwsJsonError(fault.statusCode, fault.type, fault.message);
  }

  clear(): void {
    this.pending.length = 0;
  }

  private add(operation: FaultOperation, count: number, statusCode: number, type: AwsErrorType, message: string) {
    if (!Number.isInteger(count) || count < 1) {
      throw new SimUsageError(`fault count must be a positive integer, got ${count}`, { operation, type });
    }
    this.pending.push({ operation, statusCode, type, message, remaining: count });
  }
}
