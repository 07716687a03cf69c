/**
 * ACS over `wss://` (fact sheet 2.1, 2.2) against the backend simulator serving HTTPS with a self-signed
 * certificate made here: DiscoverPollEndpoint (through ecsd's ECS client, with `-k`) answers `https://`, the
 * source turns it into `wss://`, and
 *   - without `-k` the certificate is refused: logged, retried on the backoff, never connected, no crash;
 *   - with `-k` the session connects and a payload is acked over TLS;
 *   - a server that offers only TLS 1.1 is refused even with `-k`: the session asks for TLS 1.2 or newer.
 */
import tls from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { CredentialsManager } from '../src/credentials/manager.js';
import { createEcsApi } from '../src/ecs/client.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { DEFAULT_TASK_POLICY } from '../src/model/task-policy.js';
import { AcsSource } from '../src/sources/acs/index.js';
import { ecsConfig } from './ecs-fixtures.js';
import { FakeClock } from './helpers/fake-clock.js';
import { recordingClock } from './helpers/recording-clock.js';
import { selfSignedCert } from './helpers/self-signed-cert.js';
import { waitFor } from './helpers/wait-for.js';
import { capturingLogger, memoryStore } from './local-source-helpers.js';
import { buildAcsTask, type EcsSimulator, type SimTlsOptions, startEcsSimulator } from './support/ecs-sim/index.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDTLSTEST', secretAccessKey: 'tls-test-secret' };

async function httpsSim(t: ExecutionContext, tlsOptions: SimTlsOptions): Promise<EcsSimulator> {
  const sim = await startEcsSimulator({ ...CREDENTIALS, region: REGION, tls: tlsOptions });
  t.teardown(() => sim.close());
  return sim;
}

/** ecsd's own ECS client with `-k`: registers, then asks DiscoverPollEndpoint as the control plane does. */
async function registerAndDiscover(t: ExecutionContext, sim: EcsSimulator): Promise<{ arn: string; endpoint: string }> {
  const config = ecsConfig(
    {
      ECS_BACKEND_HOST: sim.url,
      AWS_DEFAULT_REGION: REGION,
      ECS_CLUSTER: 'default',
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    },
    { acceptInsecureCert: true },
  );
  const api = createEcsApi({
    config,
    logger: capturingLogger(),
    clock: new FakeClock(),
    metrics: createMetricsRegistry().ecsApi,
    credentials: async () => CREDENTIALS,
    agentVersion: '0.1.0',
    agentHash: 'abc1234',
    maxAttempts: 1,
  });
  t.teardown(() => api.destroy());
  const instance = await api.registerContainerInstance({ cluster: 'default' });
  const arn = instance.containerInstanceArn ?? '';
  const { endpoint } = await api.discoverPollEndpoint(arn);
  return { arn, endpoint };
}

function startSource(
  t: ExecutionContext,
  options: { endpoint: string; containerInstanceArn: string; acceptInsecureCert: boolean },
) {
  const log = capturingLogger();
  const clock = recordingClock();
  const metrics = createMetricsRegistry();
  const source = new AcsSource({
    store: memoryStore(t),
    credentialsManager: new CredentialsManager(),
    discoverEndpoint: async () => options.endpoint,
    awsCredentials: async () => CREDENTIALS,
    region: REGION,
    cluster: 'default',
    containerInstanceArn: options.containerInstanceArn,
    agentVersion: '0.1.0',
    agentHash: 'abc1234',
    dockerVersion: '20.10.24',
    updatesEnabled: false,
    acceptInsecureCert: options.acceptInsecureCert,
    taskPolicy: DEFAULT_TASK_POLICY,
    logger: log,
    clock,
    metrics: metrics.acs,
    random: () => 0,
    tuning: { backoff: { minMs: 20, maxMs: 100, multiplier: 1.5, jitterFraction: 0.2 } },
  });
  source.start();
  t.teardown(() => source.stop());
  return { source, log, clock, metrics };
}

const failures = (log: ReturnType<typeof capturingLogger>) =>
  log.lines.filter((l) => l.msg === 'ACS connection failed').map((l) => String(l.fields['error']));

// Serial, and first: this test lowers Node's process-wide default minimum TLS version, and must not overlap
// the others.
test.serial(
  'a server offering only TLS 1.1 is refused even with -k: the session itself asks for TLS 1.2+',
  async (t) => {
    // OpenSSL 3 speaks TLS 1.1 only at security level 0, hence the cipher string.
    const legacy = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    const sim = await httpsSim(t, { ...selfSignedCert(t), ...legacy });

    // The server really does speak TLS 1.1 to a client that allows it, so the refusal below is the version.
    const protocol = await new Promise<string | null>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: sim.port, rejectUnauthorized: false, ...legacy }, () => {
        resolve(socket.getProtocol());
        socket.end();
      });
      socket.on('error', reject);
    });
    t.is(protocol, 'TLSv1.1');

    // Node's own default minimum is TLS 1.2; lowered here, only the session's explicit `minVersion` stands
    // between the agent and a TLS 1.1 handshake. (Without it the handshake would still fail, later and for
    // another reason — OpenSSL 3 rejects TLS 1.1's signature algorithms — which the assertion below tells apart.)
    const defaultMin = tls.DEFAULT_MIN_VERSION;
    tls.DEFAULT_MIN_VERSION = 'TLSv1.1';
    t.teardown(() => {
      tls.DEFAULT_MIN_VERSION = defaultMin;
    });
    const { source, clock, log } = startSource(t, {
      endpoint: `${sim.url}/`,
      containerInstanceArn: 'arn:aws:ecs:us-east-1:111122223333:container-instance/default/0123456789abcdef',
      acceptInsecureCert: true,
    });
    await waitFor('two reconnect waits', () => clock.sleeps.length >= 2, { timeoutMs: 10_000 });
    await source.stop();
    tls.DEFAULT_MIN_VERSION = defaultMin;
    t.deepEqual(clock.sleeps.slice(0, 2), [20, 30], 'each refusal waits the growing backoff');
    t.regex(failures(log)[0] ?? '', /protocol version/i);
    t.true(
      sim.tlsHandshakeFailures().some((f) => /unsupported protocol/i.test(f)),
      `the server saw a client that would not go below TLS 1.2: ${sim.tlsHandshakeFailures().join(' | ')}`,
    );
    t.is(sim.connections().length, 0);
    t.false(source.state().connected);
  },
);

test('DiscoverPollEndpoint answers https://, and without -k the self-signed certificate is refused and retried', async (t) => {
  const sim = await httpsSim(t, selfSignedCert(t));
  const { arn, endpoint } = await registerAndDiscover(t, sim);
  t.is(endpoint, `${sim.url}/`);
  t.regex(endpoint, /^https:\/\/127\.0\.0\.1:\d+\/$/);

  const { source, clock, log, metrics } = startSource(t, {
    endpoint,
    containerInstanceArn: arn,
    acceptInsecureCert: false,
  });
  await waitFor('three reconnect waits', () => clock.sleeps.length >= 3, { timeoutMs: 10_000 });
  t.deepEqual(clock.sleeps.slice(0, 3), [20, 30, 45], 'refusals back off, growing');
  const connecting = log.lines.find((l) => l.msg === 'connecting to ACS');
  t.regex(String(connecting?.fields['url']), /^wss:\/\/127\.0\.0\.1:\d+\/ws\?/, 'https:// became wss://');
  const errors = failures(log);
  t.true(errors.length >= 3);
  t.regex(errors[0] ?? '', /self[- ]signed certificate/i, 'the log says why');
  t.true(log.lines.every((l) => l.level !== 'crit' && l.level !== 'error'));
  t.is(sim.connections().length, 0, 'no session was ever opened');
  t.false(source.state().connected);
  t.is(await metrics.sampleValue('ecs_agent_acs_connected'), 0);
  await source.stop();
  t.pass('stopped cleanly while refusing');
});

test('with -k the session connects over wss:// and a payload is acked', async (t) => {
  const sim = await httpsSim(t, selfSignedCert(t));
  const { arn, endpoint } = await registerAndDiscover(t, sim);
  const { source, log } = startSource(t, { endpoint, containerInstanceArn: arn, acceptInsecureCert: true });
  const connection = await sim.waitForConnection(1);
  t.is(connection.query['containerInstanceArn'], arn);
  t.is(connection.query['sendCredentials'], 'true');
  const task = buildAcsTask(
    { family: 'tls', containerDefinitions: [{ name: 'app', image: 'busybox:1.36', command: ['sleep', '60'] }] },
    { arn: 'arn:aws:ecs:us-east-1:111122223333:task/default/0123456789abcdef0123456789abcdef' },
  );
  await sim.sendPayload([task]);
  await source.whenReady();
  t.true(source.state().connected);
  t.deepEqual(failures(log), []);
  t.deepEqual(sim.tlsHandshakeFailures(), []);
});
