// ECR registry auth end to end (fact sheet 7.2, issue 12), all on 127.0.0.1: a real `ecsd` in ECS mode gets a
// task whose container names `registryAuthentication` type ecr with the simulator as `endpointOverride`; the
// agent asks the simulator's ECR for a token signed with the task's execution-role credentials, and pulls from
// a real docker-registry whose htpasswd only knows the token's `AWS:<password>` — so a pull that succeeds was
// authenticated with it. A registry ECR refuses stops the task with CannotPullECRContainerError; a token the
// registry refuses stops it with the registry's CannotPullContainerError (upstream's split); the agent runs on.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { createEcsPair, type EcsPair } from '../helpers/ecs-agent.js';
import { removeLocalImage } from '../helpers/images-registry.js';
import { startRegistry } from '../helpers/registry.js';
import { type AcsTask, buildAcsTask, type RoleCredentials, type TaskStateChange } from '../support/ecs-sim/index.js';

const WAIT_MS = 120_000;
const REGISTRY_ID = '111122223333';
/** A registry ID the simulator's ECR answers with a wrong password for the same registry. */
const WRONG_TOKEN_REGISTRY_ID = '555566667777';
/** A registry ID the simulator's ECR refuses (AccessDeniedException). */
const DENIED_REGISTRY_ID = '444455556666';

function ecrTask(
  pair: EcsPair,
  family: string,
  image: string,
  registryId: string,
  execution: RoleCredentials,
): AcsTask {
  const { region, accountId } = pair.sim.settings;
  const arn = `arn:aws:ecs:${region}:${accountId}:task/${pair.agent.cluster}/${randomBytes(16).toString('hex')}`;
  const task = buildAcsTask(
    {
      family,
      memory: '128',
      containerDefinitions: [{ name: 'app', image, essential: true, memory: 32, command: ['sleep', '3600'] }],
    },
    { arn },
  );
  task.containers[0]!['registryAuthentication'] = {
    type: 'ecr',
    ecrAuthData: { registryId, region, endpointOverride: pair.sim.url, useExecutionRole: true },
  };
  return { ...task, executionRoleCredentials: execution };
}

function reasonOf(change: TaskStateChange): string {
  return String(change.containers?.find((c) => c['containerName'] === 'app')?.['reason'] ?? '');
}

test.serial(
  'ECR via the execution role: token from the simulator, authenticated pull, RUNNING; refusals stop the task',
  async (t) => {
    t.timeout(300_000);
    const password = `ecr-${randomBytes(8).toString('hex')}`;
    const registry = await startRegistry({ auth: { username: 'AWS', password } });
    t.teardown(() => registry.stop());
    const image = await registry.pushTestImage(`ecr-app-${randomBytes(3).toString('hex')}`);
    t.teardown(() => removeLocalImage(image));
    // A second repository for the wrong-token task: pulls are single-flight per reference, so on the same image it
    // would join the denied task's pull and share its outcome.
    const other = await registry.pushTestImage(`ecr-other-${randomBytes(3).toString('hex')}`);
    t.teardown(() => removeLocalImage(other));

    const pair = await createEcsPair({
      sim: {
        ackTimeoutMs: WAIT_MS,
        ecr: {
          registries: {
            [REGISTRY_ID]: { password, proxyEndpoint: registry.url },
            [WRONG_TOKEN_REGISTRY_ID]: { password: 'not-the-password', proxyEndpoint: registry.url },
          },
        },
      },
      agent: { env: { ECS_IMAGE_PULL_BEHAVIOR: 'always' } },
    });
    t.teardown(() => pair.close());
    const { sim, agent } = pair;
    await agent.start();
    await sim.waitForConnection(1, WAIT_MS);

    const execution = sim.roleCredentials();
    const good = ecrTask(pair, 'ecr-good', image, REGISTRY_ID, execution);
    await sim.sendPayload([good]);
    const running = await sim.waitForTaskStatus(good.arn, 'RUNNING', WAIT_MS);
    t.like(running, { task: good.arn, status: 'RUNNING' });
    const tokenCalls = sim.calls('GetAuthorizationToken');
    t.true(tokenCalls.length >= 1);
    t.true(
      tokenCalls.every((c) => c.statusCode === 200 && c.accessKeyId === execution.accessKeyId),
      JSON.stringify(tokenCalls.map((c) => [c.accessKeyId, c.statusCode])),
    );
    t.deepEqual(tokenCalls[0]?.body, { registryIds: [REGISTRY_ID] });

    // ECR refuses the registry: CannotPullECRContainerError, not retried (a denial stays one).
    const denied = ecrTask(pair, 'ecr-denied', image, DENIED_REGISTRY_ID, sim.roleCredentials());
    // ECR hands out a token the registry does not take: the registry's own error, as upstream reports it.
    const wrong = ecrTask(pair, 'ecr-wrong-token', other, WRONG_TOKEN_REGISTRY_ID, sim.roleCredentials());
    await sim.sendPayload([denied, wrong]);
    const [deniedStopped, wrongStopped] = await Promise.all([
      sim.waitForTaskStatus(denied.arn, 'STOPPED', WAIT_MS),
      sim.waitForTaskStatus(wrong.arn, 'STOPPED', WAIT_MS),
    ]);
    t.regex(reasonOf(deniedStopped), /^CannotPullECRContainerError: .*AccessDeniedException/);
    t.regex(reasonOf(wrongStopped), /^CannotPullContainerError: /);
    t.is(
      sim
        .calls('GetAuthorizationToken')
        .filter((c) => c.body !== undefined && JSON.stringify(c.body).includes(DENIED_REGISTRY_ID)).length,
      1,
    );

    // The agent runs on: the first task is still RUNNING, the session still open, and another task of the same
    // role (a new credentials ID, the same key) pulls again (`always`) with the cached token: no new ECR call.
    t.is(sim.connections().length, 1);
    t.is(sim.taskStateChanges(good.arn).at(-1)?.status, 'RUNNING');
    const again = ecrTask(
      pair,
      'ecr-again',
      image,
      REGISTRY_ID,
      sim.roleCredentials({ accessKeyId: execution.accessKeyId, secretAccessKey: execution.secretAccessKey }),
    );
    await sim.sendPayload([again]);
    await sim.waitForTaskStatus(again.arn, 'RUNNING', WAIT_MS);
    t.is(sim.calls('GetAuthorizationToken').filter((c) => JSON.stringify(c.body).includes(REGISTRY_ID)).length, 1);

    // useExecutionRole false: the agent's own credential chain signs (here the simulator's instance key).
    const instanceRole = ecrTask(pair, 'ecr-instance', other, REGISTRY_ID, sim.roleCredentials());
    instanceRole.containers[0]!['registryAuthentication'] = {
      type: 'ecr',
      ecrAuthData: { registryId: REGISTRY_ID, region: sim.settings.region, endpointOverride: sim.url },
    };
    await sim.sendPayload([instanceRole]);
    await sim.waitForTaskStatus(instanceRole.arn, 'RUNNING', WAIT_MS);
    t.is(sim.calls('GetAuthorizationToken').at(-1)?.accessKeyId, sim.credentials.accessKeyId);
    const logs = agent.logs();
    t.false(logs.includes(password), 'the registry password is never logged');
    t.false(logs.includes(execution.secretAccessKey), 'the execution role secret is never logged');
    t.false(logs.includes(Buffer.from(`AWS:${password}`).toString('base64')), 'the token is never logged');
  },
);
