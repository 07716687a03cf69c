/**
 * DiscoverPollEndpoint's cache (fact sheet 1.3): one answer per container-instance ARN kept 12 h; calls are
 * serialised (one in flight at a time, so a reconnect storm costs one call); when a refresh fails and an
 * expired answer exists, the expired answer is used — ACS endpoints rarely move, and a stale endpoint that
 * no longer answers just fails the connect, which is retried.
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';

export interface PollEndpoints {
  /** The ACS endpoint (`https://ecs-a-N.<region>.amazonaws.com/`). */
  endpoint: string;
  telemetryEndpoint?: string;
  serviceConnectEndpoint?: string;
}

/** How long an answer is fresh (upstream: 12 h). */
export const POLL_ENDPOINT_CACHE_TTL_MS = 12 * 60 * 60 * 1000;

interface Entry {
  endpoints: PollEndpoints;
  fetchedAtMs: number;
}

export interface PollEndpointCacheOptions {
  clock: Clock;
  logger: Logger;
  fetch(containerInstanceArn: string): Promise<PollEndpoints>;
  ttlMs?: number;
}

export class PollEndpointCache {
  private readonly entries = new Map<string, Entry>();
  /** The tail of the serialised calls; each ask waits for the one before it. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PollEndpointCacheOptions) {}

  get(containerInstanceArn: string): Promise<PollEndpoints> {
    const result = this.tail.then(() => this.lookup(containerInstanceArn));
    this.tail = result.catch(() => {});
    return result;
  }

  private async lookup(arn: string): Promise<PollEndpoints> {
    const { clock, logger } = this.options;
    const cached = this.entries.get(arn);
    if (cached && clock.nowMs() - cached.fetchedAtMs < (this.options.ttlMs ?? POLL_ENDPOINT_CACHE_TTL_MS)) {
      return cached.endpoints;
    }
    try {
      const endpoints = await this.options.fetch(arn);
      this.entries.set(arn, { endpoints, fetchedAtMs: clock.nowMs() });
      return endpoints;
    } catch (error) {
      if (!cached) throw error;
      logger.warn('DiscoverPollEndpoint failed; using the expired cached endpoint', {
        containerInstanceArn: arn,
        endpoint: cached.endpoints.endpoint,
        error: errorMessage(error),
      });
      return cached.endpoints;
    }
  }
}
