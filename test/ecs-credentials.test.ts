/**
 * The agent's credential chain (fact sheet 1.1): which links exist in each mode, which ran, and — with the
 * SDK's real providers pointed at a loopback server standing in for IMDS and the container endpoint — that
 * with ECS_EXTERNAL no request is made to instance metadata at all, while on EC2 the chain does ask it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import test, { type ExecutionContext } from 'ava';
import {
  awsCredentialsProvider,
  type CredentialProviderFactories,
  credentialSources,
  SHARED_FILE_REREAD_MS,
} from '../src/ecs/credentials.js';
import { EcsApiError } from '../src/errors.js';
import { ecsConfig } from './ecs-fixtures.js';

/** Factories whose providers record that they ran and fail as "not configured here". */
function recordingFactories(): { factories: CredentialProviderFactories; built: string[]; ran: string[] } {
  const built: string[] = [];
  const ran: string[] = [];
  const make = (name: string) => (): AwsCredentialIdentityProvider => {
    built.push(name);
    return async () => {
      ran.push(name);
      throw new Error(`${name}: nothing here`);
    };
  };
  return {
    built,
    ran,
    factories: {
      fromIni: make('ini'),
      fromProcess: make('process'),
      fromTokenFile: make('token-file'),
      fromContainerMetadata: make('container'),
      fromInstanceMetadata: make('imds'),
    },
  };
}

const NO_KEYS = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };

test('external mode: no container endpoint or IMDS link is even built; the error names every link tried', async (t) => {
  const { factories, built, ran } = recordingFactories();
  const provider = awsCredentialsProvider(ecsConfig(NO_KEYS), factories);
  const error = await t.throwsAsync(provider(), { instanceOf: EcsApiError });
  t.deepEqual(built, ['ini', 'process', 'token-file']);
  t.deepEqual(ran, ['ini', 'process', 'token-file']);
  t.regex(error?.message ?? '', /no AWS credentials found \(ini: .*; process: .*; token-file: .*\)/);
});

test('on EC2 the chain ends with the container endpoint and IMDS, tried in that order', async (t) => {
  const { factories, ran } = recordingFactories();
  await t.throwsAsync(awsCredentialsProvider(ecsConfig({ ...NO_KEYS, ECS_EXTERNAL: 'false' }), factories)());
  t.deepEqual(ran, ['ini', 'process', 'token-file', 'container', 'imds']);
});

test('configured keys come first and win without asking anything else', async (t) => {
  const { factories, ran } = recordingFactories();
  const identity = await awsCredentialsProvider(ecsConfig({ AWS_SESSION_TOKEN: 'tok' }), factories)();
  t.deepEqual(identity, { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-test', sessionToken: 'tok' });
  t.deepEqual(ran, []);
});

test('external mode: shared-file credentials expire after a minute so a rotated file is read again', async (t) => {
  const { factories } = recordingFactories();
  factories.fromIni = () => async () => ({ accessKeyId: 'FILE', secretAccessKey: 's' });
  const nowMs = 1_700_000_000_000;
  const [, ini] = credentialSources(ecsConfig({}), factories, () => nowMs);
  t.is(ini?.name, 'ini');
  const identity = await ini?.provider();
  t.is(identity?.expiration?.getTime(), nowMs + SHARED_FILE_REREAD_MS);
});

function setEnv(t: ExecutionContext, values: Record<string, string | undefined>): void {
  const before = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(values);
  t.teardown(() => apply(before));
}

/** The SDK's real providers, with IMDS and the container endpoint pointed at a loopback recorder. */
async function realChainAgainstLoopback(t: ExecutionContext): Promise<{ paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-creds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'empty'), '');
  setEnv(t, {
    AWS_EC2_METADATA_DISABLED: undefined,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: url,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: `${url}/container-credentials`,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'empty'),
    AWS_CONFIG_FILE: join(dir, 'empty'),
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_PROFILE: undefined,
  });
  return { paths };
}

test.serial(
  'external mode with the real SDK providers: no credentials, and no request to instance metadata',
  async (t) => {
    const { paths } = await realChainAgainstLoopback(t);
    await t.throwsAsync(awsCredentialsProvider(ecsConfig(NO_KEYS))(), { instanceOf: EcsApiError });
    t.deepEqual(paths, []);
  },
);

test.serial(
  'control: on EC2 the same chain does ask the metadata endpoints (so the test above can fail)',
  async (t) => {
    const { paths } = await realChainAgainstLoopback(t);
    await t.throwsAsync(awsCredentialsProvider(ecsConfig({ ...NO_KEYS, ECS_EXTERNAL: 'false' }))());
    t.true(
      paths.some((p) => p.includes('/container-credentials')),
      paths.join(', '),
    );
    t.true(
      paths.some((p) => p.includes('/latest/')),
      paths.join(', '),
    );
  },
);
