/**
 * A minimal loopback ECS endpoint for the ECS API tests: AWS JSON 1.1 over HTTP on 127.0.0.1, every request
 * recorded with the headers the protocol requires, answered by the test's handler with canned JSON. (The full
 * backend simulator lives in test/support/; this is only what these unit-level tests need.)
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { loadConfig } from '../src/config/load.js';
import type { AgentConfig } from '../src/config/types.js';
import { createEcsApi, type EcsApi } from '../src/ecs/client.js';
import { type CapturingLogger, createCapturingLogger } from '../src/logging/index.js';
import { createMetricsRegistry, type MetricsRegistry } from '../src/metrics/registry.js';
import { openStore } from '../src/store/index.js';
import type { DesiredStateStore } from '../src/store/records.js';
import { FakeClock } from './helpers/fake-clock.js';

// Extra guards: whatever a test does, the SDK never looks at instance metadata or warns about Node 20.
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

export const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

export interface RecordedRequest {
  operation: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  raw: string;
}

export interface Reply {
  status?: number;
  /** An AWS JSON error: `__type` and `message`. */
  error?: string;
  body?: Record<string, unknown>;
}

export type Handler = (request: RecordedRequest) => Reply | Promise<Reply>;

export interface FakeEcs {
  url: string;
  requests: RecordedRequest[];
  /** Requests of one operation, in order. */
  calls(operation: string): RecordedRequest[];
}

async function serve(handler: Handler, requests: RecordedRequest[], req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const target = String(req.headers['x-amz-target'] ?? '');
  const recorded: RecordedRequest = {
    operation: target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : `?${target}`,
    headers: req.headers,
    body: raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>),
    raw,
  };
  requests.push(recorded);
  const reply = await handler(recorded);
  const status = reply.status ?? (reply.error ? 400 : 200);
  const body = reply.error
    ? { __type: reply.error, message: `${reply.error} from the test server` }
    : (reply.body ?? {});
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

/** Starts the endpoint; with `tls`, HTTPS with the given key and certificate. */
export async function startFakeEcs(
  t: ExecutionContext,
  handler: Handler,
  tls?: { key: string; cert: string },
): Promise<FakeEcs> {
  const requests: RecordedRequest[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    serve(handler, requests, req, res).catch((error: unknown) => {
      res.writeHead(599);
      res.end(String(error));
    });
  };
  const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    calls: (operation) => requests.filter((r) => r.operation === operation),
  };
}

/** A real config from an environment; ECS_EXTERNAL and test credentials always, so nothing reaches AWS or IMDS. */
export function ecsConfig(env: Record<string, string> = {}, flags: { acceptInsecureCert?: boolean } = {}): AgentConfig {
  return loadConfig({
    env: {
      ECS_EXTERNAL: 'true',
      AWS_DEFAULT_REGION: 'us-west-2',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'secret-test',
      ECS_CLUSTER: 'ecsd-test',
      ...env,
    },
    flags,
    readFile: () => undefined,
  }).config;
}

export const TEST_CREDENTIALS = async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test' });

export interface ApiHarness {
  api: EcsApi;
  metrics: MetricsRegistry;
  capture: CapturingLogger;
  clock: FakeClock;
}

export function makeApi(
  t: ExecutionContext,
  config: AgentConfig,
  options: { clock?: FakeClock; maxAttempts?: number } = {},
): ApiHarness {
  const metrics = createMetricsRegistry();
  const capture = createCapturingLogger();
  const clock = options.clock ?? new FakeClock();
  const api = createEcsApi({
    config,
    logger: capture.logger,
    clock,
    metrics: metrics.ecsApi,
    credentials: TEST_CREDENTIALS,
    agentVersion: '0.1.0',
    agentHash: 'abc1234',
    // One attempt per call unless a test is about the SDK's own retries: each request seen is one call.
    maxAttempts: options.maxAttempts ?? 1,
  });
  t.teardown(() => api.destroy());
  return { api, metrics, capture, clock };
}

export function memoryStore(t: ExecutionContext): DesiredStateStore {
  const { store } = openStore({ dataDir: '/nonexistent', checkpoint: false, logger: createCapturingLogger().logger });
  t.teardown(() => store.close());
  return store;
}

/**
 * Runs `work` to completion on a fake clock: whenever it waits on a timer, time jumps to that timer. Real
 * I/O (the loopback server) happens in between, so this polls for pending timers rather than counting turns.
 */
export async function runWithFakeClock<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  done.catch(() => {});
  while (!settled) {
    if (clock.pendingTimers > 0) await clock.runNext();
    else await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return done;
}
