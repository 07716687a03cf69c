// ECR authorization (fact sheet 7.2) against a tiny AWS JSON 1.1 server on loopback: the real SDK signs and
// sends GetAuthorizationToken; tokens are decoded, cached per key until 30–60 min before expiry, and
// failures are typed. No AWS host or instance metadata is ever contacted.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { createEcrAuth, type EcrAuthRequest } from '../src/docker/ecr-auth.js';
import { CannotPullECRContainerError } from '../src/errors.js';
import { createCapturingLogger } from '../src/logging/index.js';
import { FakeClock } from './helpers/fake-clock.js';

process.env['AWS_EC2_METADATA_DISABLED'] = 'true';

interface SeenRequest {
  target: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

interface FakeEcr {
  url: string;
  seen: SeenRequest[];
  /** What the next responses are: a status and a JSON body. */
  respond: (request: SeenRequest) => { status: number; body: unknown };
  close(): Promise<void>;
}

const TOKEN_PASSWORD = 'eyJwYXlsb2FkIjoic2VjcmV0In0=';
const HOUR_MS = 3_600_000;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

async function startFakeEcr(expiresAtSeconds: () => number): Promise<FakeEcr> {
  const fake: FakeEcr = {
    url: '',
    seen: [],
    respond: (request) => {
      const registryId = (request.body as { registryIds?: string[] }).registryIds?.[0] ?? '000000000000';
      return {
        status: 200,
        body: {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${TOKEN_PASSWORD}`).toString('base64'),
              expiresAt: expiresAtSeconds(),
              proxyEndpoint: `https://${registryId}.dkr.ecr.us-west-2.amazonaws.com`,
            },
          ],
        },
      };
    },
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)) || '{}');
    const seen: SeenRequest = {
      target: req.headers['x-amz-target'] as string | undefined,
      authorization: req.headers.authorization,
      body,
    };
    fake.seen.push(seen);
    const { status, body: out } = fake.respond(seen);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(out));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

const executionCredentials = { accessKeyId: 'AKIDEXECUTION', secretAccessKey: 'exec-secret', sessionToken: 'tok' };

function request(overrides: Partial<EcrAuthRequest> = {}): EcrAuthRequest {
  return {
    registryId: '123456789012',
    region: 'us-west-2',
    useExecutionRole: true,
    taskArn: 'arn:task/1',
    ...overrides,
  };
}

async function setUp(t: { teardown(fn: () => unknown): void }, random = () => 0) {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  // Tokens live 12 h, like ECR's.
  const ecr = await startFakeEcr(() => (clock.nowMs() + 12 * HOUR_MS) / 1000);
  t.teardown(() => ecr.close());
  const { logger, lines } = createCapturingLogger();
  const auth = createEcrAuth({
    credentialsFor: (taskArn) => (taskArn === 'arn:task/1' ? executionCredentials : undefined),
    logger,
    clock,
    endpoint: ecr.url,
    random,
  });
  return { clock, ecr, auth, lines };
}

test('GetAuthorizationToken is signed, sent as AWS JSON 1.1, and decoded into Docker credentials', async (t) => {
  const { ecr, auth } = await setUp(t);
  const docker = await auth.authFor(request());
  t.deepEqual(docker, {
    username: 'AWS',
    password: TOKEN_PASSWORD,
    serveraddress: 'https://123456789012.dkr.ecr.us-west-2.amazonaws.com',
  });
  t.is(ecr.seen.length, 1);
  const seen = ecr.seen[0]!;
  t.is(seen.target, 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken');
  t.regex(
    seen.authorization ?? '',
    /^AWS4-HMAC-SHA256 Credential=AKIDEXECUTION\/\d{8}\/us-west-2\/ecr\/aws4_request, /,
  );
  t.deepEqual(seen.body, { registryIds: ['123456789012'] });
});

test('a token is reused until 30 min (+ jitter) before expiry, then fetched again', async (t) => {
  // random() = 0.5: refresh 45 min before the 12 h expiry.
  const { clock, ecr, auth } = await setUp(t, () => 0.5);
  await auth.authFor(request());
  clock.advance(11 * HOUR_MS);
  await auth.authFor(request());
  t.is(ecr.seen.length, 1, 'cached 11 h later');
  clock.advance(14 * 60_000);
  await auth.authFor(request());
  t.is(ecr.seen.length, 1, '46 min before expiry: still cached');
  clock.advance(2 * 60_000);
  await auth.authFor(request());
  t.is(ecr.seen.length, 2, '44 min before expiry: refreshed');
});

test('the cache key is credentials, region, registry and endpoint', async (t) => {
  const { ecr, auth } = await setUp(t);
  await auth.authFor(request());
  await auth.authFor(request({ registryId: '210987654321' }));
  await auth.authFor(request({ region: 'eu-west-1' }));
  await auth.authFor(request({ endpointOverride: `${ecr.url}/` }));
  t.is(ecr.seen.length, 4);
  await auth.authFor(request({ registryId: '210987654321' }));
  t.is(ecr.seen.length, 4);
});

test('concurrent requests for one key share one call', async (t) => {
  const { ecr, auth } = await setUp(t);
  const results = await Promise.all(Array.from({ length: 10 }, () => auth.authFor(request())));
  t.is(ecr.seen.length, 1);
  for (const result of results) t.is(result.password, TOKEN_PASSWORD);
});

test('missing execution-role credentials: CannotPullECRContainerError, terminal, no call made', async (t) => {
  const { ecr, auth } = await setUp(t);
  const error = await t.throwsAsync(auth.authFor(request({ taskArn: 'arn:task/unknown' })), {
    instanceOf: CannotPullECRContainerError,
  });
  t.true(error?.terminal);
  t.regex(
    error?.toReason() ?? '',
    /^CannotPullECRContainerError: no execution role credentials of task arn:task\/unknown/,
  );
  t.is(ecr.seen.length, 0);
});

test('instance credentials are used only when given; never looked up otherwise', async (t) => {
  const { ecr, auth } = await setUp(t);
  await t.throwsAsync(auth.authFor(request({ useExecutionRole: false })), {
    instanceOf: CannotPullECRContainerError,
    message: /no instance credentials/,
  });
  t.is(ecr.seen.length, 0);
  const withInstance = createEcrAuth({
    credentialsFor: () => undefined,
    instanceCredentials: async () => ({ accessKeyId: 'AKIDINSTANCE', secretAccessKey: 'instance-secret' }),
    logger: createCapturingLogger().logger,
    clock: new FakeClock(Date.parse('2026-01-01T00:00:00Z')),
    endpoint: ecr.url,
  });
  await withInstance.authFor(request({ useExecutionRole: false }));
  t.regex(ecr.seen[0]?.authorization ?? '', /Credential=AKIDINSTANCE\//);
});

const failures: Array<{ status: number; type: string; terminal: boolean }> = [
  { status: 400, type: 'AccessDeniedException', terminal: true },
  { status: 400, type: 'InvalidParameterException', terminal: true },
  { status: 500, type: 'ServerException', terminal: false },
  { status: 400, type: 'ThrottlingException', terminal: false },
];

for (const failure of failures) {
  test(`ECR answering ${failure.status} ${failure.type} is ${failure.terminal ? 'terminal' : 'transient'}`, async (t) => {
    const { ecr, auth, lines } = await setUp(t);
    ecr.respond = () => ({ status: failure.status, body: { __type: failure.type, message: 'nope' } });
    const error = await t.throwsAsync(auth.authFor(request()), { instanceOf: CannotPullECRContainerError });
    t.is(error?.terminal, failure.terminal);
    t.regex(error?.message ?? '', new RegExp(`registry 123456789012 in us-west-2 failed: ${failure.type}`));
    t.is(ecr.seen.length, 1, 'the SDK does not retry: the runtime does');
    t.deepEqual(lines, []);
  });
}

test('an unreachable endpoint is transient', async (t) => {
  const { ecr, auth } = await setUp(t);
  await ecr.close();
  const error = await t.throwsAsync(auth.authFor(request()), { instanceOf: CannotPullECRContainerError });
  t.false(error?.terminal);
});

test('the log line of a new token names registry and expiry, never the token or password', async (t) => {
  const { auth, lines } = await setUp(t);
  await auth.authFor(request());
  t.is(lines.length, 1);
  const text = JSON.stringify(lines);
  t.regex(text, /ECR authorization token received/);
  t.regex(text, /123456789012/);
  for (const secret of [TOKEN_PASSWORD, Buffer.from(`AWS:${TOKEN_PASSWORD}`).toString('base64'), 'exec-secret']) {
    t.false(text.includes(secret));
  }
});
