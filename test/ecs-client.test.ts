/**
 * The ECS API client over the real SDK (fact sheet 1.1, 1.3): DiscoverPollEndpoint's 12 h cache, stale answer
 * on error and "no endpoint returned"; `-k` against a self-signed HTTPS endpoint; ECS_BACKEND_HOST without a
 * scheme; every call counted by operation and result.
 */
import test from 'ava';
import { backendEndpoint, effectiveCluster, endpointOf } from '../src/ecs/client.js';
import { POLL_ENDPOINT_CACHE_TTL_MS } from '../src/ecs/poll-endpoint-cache.js';
import { EcsApiError } from '../src/errors.js';
import { ECS_API_OPERATIONS, ECS_API_RESULTS } from '../src/metrics/ecs-api.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { ecsConfig, makeApi, startFakeEcs } from './ecs-fixtures.js';
import { selfSignedCert } from './helpers/self-signed-cert.js';

const ARN = 'arn:aws:ecs:us-west-2:123456789012:container-instance/ecsd-test/0123456789abcdef';
const OTHER_ARN = 'arn:aws:ecs:us-west-2:123456789012:container-instance/ecsd-test/fedcba9876543210';
const ENDPOINTS = {
  endpoint: 'https://ecs-a-1.us-west-2.amazonaws.com/',
  telemetryEndpoint: 'https://ecs-t-1.us-west-2.amazonaws.com/',
};

test('discover: one call serves two asks, both waiting on it; another ARN is asked for separately', async (t) => {
  const ecs = await startFakeEcs(t, () => ({ body: ENDPOINTS }));
  const { api } = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  const [a, b] = await Promise.all([api.discoverPollEndpoint(ARN), api.discoverPollEndpoint(ARN)]);
  t.deepEqual(a, ENDPOINTS);
  t.deepEqual(b, ENDPOINTS);
  t.is(ecs.calls('DiscoverPollEndpoint').length, 1, 'serialised: the second ask found the first answer cached');
  t.deepEqual(ecs.calls('DiscoverPollEndpoint')[0]?.body, { cluster: 'ecsd-test', containerInstance: ARN });
  await api.discoverPollEndpoint(OTHER_ARN);
  t.is(ecs.calls('DiscoverPollEndpoint').length, 2);
});

test('discover: after 12 h the answer is refreshed; when the refresh fails the stale answer is used', async (t) => {
  let fail = false;
  const ecs = await startFakeEcs(t, () => (fail ? { status: 500, error: 'ServerException' } : { body: ENDPOINTS }));
  const { api, clock, capture, metrics } = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  await api.discoverPollEndpoint(ARN);
  clock.advance(POLL_ENDPOINT_CACHE_TTL_MS - 1);
  await api.discoverPollEndpoint(ARN);
  t.is(ecs.calls('DiscoverPollEndpoint').length, 1, 'still fresh');
  clock.advance(1);
  fail = true;
  t.deepEqual(await api.discoverPollEndpoint(ARN), ENDPOINTS);
  t.is(ecs.calls('DiscoverPollEndpoint').length, 2, 'expired: asked again');
  t.true(capture.lines.some((l) => l.level === 'warn' && /expired cached endpoint/.test(l.msg)));
  t.is(
    await metrics.sampleValue('ecs_agent_ecs_api_calls_total', { operation: 'DiscoverPollEndpoint', result: 'error' }),
    1,
  );
});

test('discover: an answer without an endpoint is an error, and nothing is cached', async (t) => {
  const ecs = await startFakeEcs(t, () => ({ body: { telemetryEndpoint: ENDPOINTS.telemetryEndpoint } }));
  const { api } = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  await t.throwsAsync(api.discoverPollEndpoint(ARN), { instanceOf: EcsApiError, message: /no endpoint returned/ });
  await t.throwsAsync(api.discoverPollEndpoint(ARN), { message: /no endpoint returned/ });
  t.is(ecs.calls('DiscoverPollEndpoint').length, 2);
});

test('discover: an error with nothing cached rejects with the service code', async (t) => {
  const ecs = await startFakeEcs(t, () => ({ error: 'AccessDeniedException' }));
  const { api } = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  const error = await t.throwsAsync(api.discoverPollEndpoint(ARN), { instanceOf: EcsApiError });
  t.is(error?.context['serviceCode'], 'AccessDeniedException');
  t.is(error?.errorClass, 'terminal');
});

test('throttling is classified and counted as throttled', async (t) => {
  const ecs = await startFakeEcs(t, () => ({ error: 'ThrottlingException' }));
  const { api, metrics } = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  const error = await t.throwsAsync(api.createCluster('default'), { instanceOf: EcsApiError });
  t.is(error?.errorClass, 'throttled');
  t.is(
    await metrics.sampleValue('ecs_agent_ecs_api_calls_total', { operation: 'CreateCluster', result: 'throttled' }),
    1,
  );
  t.is(await metrics.sampleValue('ecs_agent_ecs_api_call_duration_seconds_count', { operation: 'CreateCluster' }), 1);
});

test('every ECS API series exists at 0 from start-up', async (t) => {
  const metrics = createMetricsRegistry();
  for (const operation of ECS_API_OPERATIONS) {
    for (const result of ECS_API_RESULTS) {
      t.is(await metrics.sampleValue('ecs_agent_ecs_api_calls_total', { operation, result }), 0);
    }
    t.is(await metrics.sampleValue('ecs_agent_ecs_api_call_duration_seconds_count', { operation }), 0);
  }
});

test('-k: a self-signed HTTPS endpoint is refused without it and used with it', async (t) => {
  const ecs = await startFakeEcs(t, () => ({ body: ENDPOINTS }), selfSignedCert(t));
  const strict = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }));
  const error = await t.throwsAsync(strict.api.discoverPollEndpoint(ARN), { instanceOf: EcsApiError });
  t.regex(error?.message ?? '', /self[- ]signed|certificate/i);
  t.is(error?.errorClass, 'transient', 'no service answer: transient');
  t.is(ecs.requests.length, 0, 'no request reached the server');

  const insecure = makeApi(t, ecsConfig({ ECS_BACKEND_HOST: ecs.url }, { acceptInsecureCert: true }));
  t.deepEqual(await insecure.api.discoverPollEndpoint(ARN), ENDPOINTS);
  t.is(ecs.requests.length, 1);
});

test('ECS_BACKEND_HOST gets https:// when it has no scheme; an empty cluster is default', (t) => {
  t.is(backendEndpoint('ecs.example.test'), 'https://ecs.example.test/');
  t.is(backendEndpoint('ecs.example.test:8443/x'), 'https://ecs.example.test:8443/x');
  t.is(backendEndpoint('http://127.0.0.1:9000'), 'http://127.0.0.1:9000/');
  t.is(effectiveCluster({ cluster: '' }), 'default');
  t.is(effectiveCluster({ cluster: 'prod' }), 'prod');
});

test('the endpoint reaches the SDK parsed: scheme, host, port and path', (t) => {
  t.deepEqual(endpointOf(backendEndpoint('ecs.example.test')), {
    protocol: 'https:',
    hostname: 'ecs.example.test',
    path: '/',
  });
  t.deepEqual(endpointOf(backendEndpoint('http://127.0.0.1:9000/base')), {
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9000,
    path: '/base',
  });
});
