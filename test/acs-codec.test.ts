/** ACS URL and query (2.1), SigV4 upgrade signing (2.2), the frame codec (2.3) and the reconnect backoff (2.7). */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import test from 'ava';
import { ACS_RECONNECT_BACKOFF, ExponentialBackoff } from '../src/sources/acs/backoff.js';
import { decodeErrorBody, decodeFrame, encodeFrame } from '../src/sources/acs/envelope.js';
import { signUpgradeRequest, upgradeSigningRequest } from '../src/sources/acs/sign.js';
import { acsUrl } from '../src/sources/acs/url.js';

const base = {
  cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/demo',
  containerInstanceArn: 'arn:aws:ecs:us-west-2:111122223333:container-instance/demo/abc',
  agentVersion: '1.105.1',
  agentHash: '8dfceca6',
  sendCredentials: true,
};

test('acs URL: ws path, sorted Go-escaped query, scheme mapped', (t) => {
  t.is(
    acsUrl({ ...base, endpoint: 'https://ecs-a-1.us-west-2.amazonaws.com', dockerVersion: '24.0.7' }),
    'wss://ecs-a-1.us-west-2.amazonaws.com/ws?agentHash=8dfceca6&agentVersion=1.105.1' +
      '&clusterArn=arn%3Aaws%3Aecs%3Aus-west-2%3A111122223333%3Acluster%2Fdemo' +
      '&containerInstanceArn=arn%3Aaws%3Aecs%3Aus-west-2%3A111122223333%3Acontainer-instance%2Fdemo%2Fabc' +
      '&dockerVersion=DockerVersion%3A+24.0.7&protocolVersion=2&sendCredentials=true&seqNum=1',
  );
  const plain = new URL(acsUrl({ ...base, endpoint: 'http://127.0.0.1:8080/acs/', sendCredentials: false }));
  t.is(plain.protocol, 'ws:');
  t.is(plain.host, '127.0.0.1:8080');
  t.is(plain.pathname, '/acs/ws');
  t.is(plain.searchParams.get('sendCredentials'), 'false');
  t.false(plain.searchParams.has('dockerVersion'), 'omitted when unknown');
  t.is(
    new URL(acsUrl({ ...base, endpoint: 'https://h', dockerVersion: 'containerd' })).searchParams.get('dockerVersion'),
    'containerd',
  );
  t.throws(() => acsUrl({ ...base, endpoint: 'ftp://h' }), { message: /expected https or http/ });
  t.throws(() => acsUrl({ ...base, endpoint: 'not a url' }), { message: /not a URL/ });
});

test('signing: the headers verify when the server re-signs the request it received', async (t) => {
  const url = acsUrl({ ...base, endpoint: 'https://127.0.0.1:8443', dockerVersion: '24.0.7' });
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI', sessionToken: 'session' };
  const signingDate = new Date('2024-05-01T12:00:00Z');
  const headers = await signUpgradeRequest(url, { region: 'us-west-2', credentials, signingDate });
  t.is(headers['host'], '127.0.0.1:8443');
  t.is(headers['x-amz-date'], '20240501T120000Z');
  t.is(headers['x-amz-security-token'], 'session');
  t.regex(
    headers['authorization'] ?? '',
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20240501\/us-west-2\/ecs\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
  );

  // What a backend does: rebuild the request from the wire URL and re-sign with the same key and date.
  const verifier = new SignatureV4({
    service: 'ecs',
    region: 'us-west-2',
    credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const resigned = await verifier.sign(upgradeSigningRequest(url), { signingDate });
  t.is(resigned.headers['authorization'], headers['authorization']);
  const wrongKey = new SignatureV4({
    service: 'ecs',
    region: 'us-west-2',
    credentials: { ...credentials, secretAccessKey: 'other' },
    sha256: Sha256,
    applyChecksum: false,
  });
  t.not(
    (await wrongKey.sign(upgradeSigningRequest(url), { signingDate })).headers['authorization'],
    headers['authorization'],
  );
});

test('envelope: typed frames, the bare and typed error forms, encode', (t) => {
  t.deepEqual(decodeFrame('{"type":"HeartbeatMessage","message":{"messageId":"h","healthy":true}}'), {
    kind: 'message',
    type: 'HeartbeatMessage',
    message: { messageId: 'h', healthy: true },
  });
  t.deepEqual(decodeFrame('{"InactiveInstanceException":"gone"}'), {
    kind: 'exception',
    type: 'InactiveInstanceException',
    text: 'gone',
  });
  t.deepEqual(decodeFrame(Buffer.from('{"type":"ServerException","message":{"message":"boom"}}')), {
    kind: 'exception',
    type: 'ServerException',
    text: 'boom',
  });
  t.is(
    encodeFrame('AckRequest', { cluster: 'c', containerInstance: 'i', messageId: 'm' }),
    '{"type":"AckRequest","message":{"cluster":"c","containerInstance":"i","messageId":"m"}}',
  );
  t.deepEqual(decodeErrorBody('{"InactiveInstanceException":"deregistered"}'), {
    type: 'InactiveInstanceException',
    text: 'deregistered',
  });
  t.is(decodeErrorBody('<html>502</html>'), undefined);
});

test('envelope: garbage and oversized frames are AcsMessageErrors with context', (t) => {
  for (const garbage of [
    '{"type":',
    'null',
    '[]',
    '"text"',
    '{"a":"x","b":"y"}',
    '{"type":"PayloadMessage","message":[1]}',
  ]) {
    const error = t.throws(() => decodeFrame(garbage));
    t.is((error as { code?: string }).code, 'AcsMessageError', garbage);
  }
  const big = JSON.stringify({ type: 'PayloadMessage', message: { pad: 'x'.repeat(2000) } });
  const error = t.throws(() => decodeFrame(big, 1000));
  t.regex(error?.message ?? '', /exceeds the 1000-byte limit/);
});

test('backoff: 250 ms → 2 min, ×1.5, up to 20 % jitter; reset goes back to the minimum', (t) => {
  const none = new ExponentialBackoff(ACS_RECONNECT_BACKOFF, () => 0);
  const schedule = Array.from({ length: 20 }, () => none.next());
  t.deepEqual(schedule.slice(0, 4), [250, 375, 562.5, 843.75]);
  t.is(schedule.at(-1), 120_000, 'capped at 2 min');
  none.reset();
  t.is(none.next(), 250);
  const most = new ExponentialBackoff(ACS_RECONNECT_BACKOFF, () => 0.999999);
  t.true(Math.abs(most.next() - 300) < 0.01, 'jitter adds up to 20 %');
});
