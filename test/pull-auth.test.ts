// Which credentials a pull sends (fact sheet 7.2): ECR for `registryAuthentication.type = ecr`, a clear refusal
// for asm (never an anonymous pull), ECS_ENGINE_AUTH_* otherwise; and how credential failures read and retry.
import test from 'ava';
import { classifyPullFailure, isRetryablePullFailure, pullFailureReason } from '../reconcilers/images/pull-errors.js';
import type { EcrAuth, EcrAuthRequest } from '../src/docker/ecr-auth.js';
import { createPullAuth, type PullAuthTarget } from '../src/docker/pull-auth.js';
import { parseEngineAuth } from '../src/docker/registry-auth.js';
import { CannotPullContainerError, CannotPullECRContainerError, isEcsdError } from '../src/errors.js';
import type { RegistryAuthSpec } from '../src/model/task.js';

const ECR_IMAGE = '123456789012.dkr.ecr.us-west-2.amazonaws.com/app:1';
const TASK = 'arn:aws:ecs:us-west-2:123456789012:task/c/1';
const engineAuth = parseEngineAuth(
  'docker',
  JSON.stringify({ 'registry.example': { username: 'engine', password: 'engine-pw' } }),
);

function recordingEcr(): EcrAuth & { requests: EcrAuthRequest[] } {
  const requests: EcrAuthRequest[] = [];
  return {
    requests,
    async authFor(request) {
      requests.push(request);
      return { username: 'AWS', password: 'ecr-token', serveraddress: 'https://ecr.example' };
    },
  };
}

/** A pull demanded by container of TASK; `prepull: true` for one of no task (ECSD_PREPULL_IMAGES). */
const target = (image: string, registryAuth?: RegistryAuthSpec, prepull = false): PullAuthTarget => ({
  ref: image,
  image,
  ...(prepull ? {} : { taskArn: TASK }),
  ...(registryAuth === undefined ? {} : { registryAuth }),
});

const ecrSpec = (data: Partial<Extract<RegistryAuthSpec, { type: 'ecr' }>['ecrAuthData']> = {}): RegistryAuthSpec => ({
  type: 'ecr',
  ecrAuthData: { registryId: '123456789012', region: 'us-west-2', useExecutionRole: true, ...data },
});

const signal = new AbortController().signal;

test('type ecr asks ECR with the task, registry, region, endpoint and role choice', async (t) => {
  const ecr = recordingEcr();
  const authFor = createPullAuth({ engineAuth, ecr });
  const auth = await authFor(target(ECR_IMAGE, ecrSpec({ endpointOverride: 'http://127.0.0.1:4566' })), signal);
  t.deepEqual(auth, { username: 'AWS', password: 'ecr-token', serveraddress: 'https://ecr.example' });
  t.deepEqual(ecr.requests, [
    {
      registryId: '123456789012',
      region: 'us-west-2',
      endpointOverride: 'http://127.0.0.1:4566',
      useExecutionRole: true,
      taskArn: TASK,
      signal,
    },
  ]);
  await authFor(target(ECR_IMAGE, ecrSpec({ useExecutionRole: false })), signal);
  t.false(ecr.requests[1]?.useExecutionRole);
  t.false('endpointOverride' in (ecr.requests[1] ?? {}));
});

test('without registryAuthentication the engine credentials of the image registry are used, ECR is not asked', async (t) => {
  const ecr = recordingEcr();
  const authFor = createPullAuth({ engineAuth, ecr });
  t.like(await authFor(target('registry.example/app:1'), signal), { username: 'engine', password: 'engine-pw' });
  t.is(await authFor(target('other.example/app:1'), signal), undefined);
  // A start-up pre-pull belongs to no task: the same engine credentials.
  t.like(await authFor(target('registry.example/app:1', undefined, true), signal), { username: 'engine' });
  t.is(ecr.requests.length, 0);
});

test('type asm fails the pull with a reason that says so, never an anonymous or engine-credential pull', async (t) => {
  const authFor = createPullAuth({ engineAuth, ecr: recordingEcr() });
  const error = await t.throwsAsync(
    authFor(
      target('registry.example/app:1', {
        type: 'asm',
        asmAuthData: { credentialsParameter: 'arn:aws:secretsmanager:us-west-2:1:secret:reg', region: 'us-west-2' },
      }),
      signal,
    ),
    { instanceOf: CannotPullContainerError },
  );
  t.regex(error?.message ?? '', /asm .*not supported by ecsd/);
  t.is(classifyPullFailure(error), 'auth');
  t.false(isRetryablePullFailure(classifyPullFailure(error)));
  t.regex(
    pullFailureReason(error, 'registry.example/app:1'),
    /^CannotPullContainerError: registry authentication of type asm/,
  );
});

test('type ecr without its data, outside ECS mode, or with no task for the execution role fails as ECR', async (t) => {
  const withEcr = createPullAuth({ engineAuth, ecr: recordingEcr() });
  await t.throwsAsync(withEcr(target(ECR_IMAGE, { type: 'ecr' }), signal), {
    instanceOf: CannotPullECRContainerError,
    message: /without ecrAuthData/,
  });
  await t.throwsAsync(withEcr(target(ECR_IMAGE, ecrSpec({ region: '' })), signal), {
    instanceOf: CannotPullECRContainerError,
  });
  await t.throwsAsync(withEcr(target(ECR_IMAGE, ecrSpec(), true), signal), {
    instanceOf: CannotPullECRContainerError,
    message: /no task whose execution role/,
  });
  const local = createPullAuth({ engineAuth });
  await t.throwsAsync(local(target(ECR_IMAGE, ecrSpec()), signal), {
    instanceOf: CannotPullECRContainerError,
    message: /needs ECS mode/,
  });
});

test('ECR failures read as CannotPullECRContainerError; denied ones are final, network ones retried', (t) => {
  const denied = new CannotPullECRContainerError(
    'GetAuthorizationToken for registry 1 in r failed: AccessDeniedException: no',
  );
  t.is(classifyPullFailure(denied), 'auth');
  t.false(isRetryablePullFailure(classifyPullFailure(denied)));
  t.is(
    pullFailureReason(denied, ECR_IMAGE),
    'CannotPullECRContainerError: GetAuthorizationToken for registry 1 in r failed: AccessDeniedException: no',
  );
  const network = new CannotPullECRContainerError('GetAuthorizationToken failed: ECONNREFUSED', {
    errorClass: 'transient',
  });
  t.is(classifyPullFailure(network), 'network');
  t.true(isRetryablePullFailure(classifyPullFailure(network)));
  const throttled = new CannotPullECRContainerError('slow down', { errorClass: 'throttled' });
  t.is(classifyPullFailure(throttled), 'rate_limited');
  // The engine's own pull failures are still read from the registry's words.
  const engine = new CannotPullContainerError('unauthorized: authentication required');
  t.true(isEcsdError(engine));
  t.is(classifyPullFailure(engine), 'auth');
  t.regex(pullFailureReason(engine, 'registry.example/app:1'), /^CannotPullContainerError: pull of /);
});
