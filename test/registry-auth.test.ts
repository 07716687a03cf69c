// ECS_ENGINE_AUTH_TYPE / ECS_ENGINE_AUTH_DATA (fact sheet 7.2): both shapes, key matching, and errors and log
// lines that never carry a secret.
import { inspect } from 'node:util';
import test from 'ava';
import { parseEngineAuth, splitImageRef } from '../src/docker/registry-auth.js';
import { ConfigError } from '../src/errors.js';
import { createCapturingLogger, formatJsonLine, formatLogfmtLine } from '../src/logging/index.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

const dockerData = JSON.stringify({
  'https://index.docker.io/v1/': { username: 'hubuser', password: 'hub-secret', email: 'me@example.com' },
  'registry.example:5000': { username: 'host', password: 'host-secret' },
  'http://registry.example:5000/team': { username: 'team', password: 'team-secret' },
  'registry.example:5000/team/special': { username: 'special', password: 'special-secret' },
  'other.example/only/deep': { username: 'deep', password: 'deep-secret' },
  '127.0.0.1:5001': { auth: b64('local:pa:ss') },
});

const matches: Array<{ image: string; user: string | undefined; server?: string }> = [
  { image: 'busybox', user: 'hubuser', server: 'index.docker.io/v1/' },
  { image: 'library/busybox:1.36', user: 'hubuser' },
  { image: 'docker.io/library/busybox:latest', user: 'hubuser' },
  { image: 'index.docker.io/someone/app', user: 'hubuser' },
  { image: 'registry-1.docker.io/someone/app@sha256:abcd', user: 'hubuser' },
  { image: 'registry.example:5000/app:1', user: 'host', server: 'registry.example:5000' },
  { image: 'registry.example:5000/team/app:1', user: 'team', server: 'registry.example:5000/team' },
  { image: 'registry.example:5000/team/special/x', user: 'special' },
  { image: 'registry.example:5000/team/special', user: 'special' },
  // A key is a prefix only at a path boundary: `team` does not cover `teamster`.
  { image: 'registry.example:5000/teamster/app', user: 'host' },
  // Same host, no bare host key and no key that is a prefix: anonymous.
  { image: 'other.example/elsewhere/app', user: undefined },
  { image: 'other.example/only/deep/app', user: 'deep' },
  // Another port is another registry.
  { image: 'registry.example:5001/app', user: undefined },
  { image: 'quay.io/app', user: undefined },
  { image: '127.0.0.1:5001/harness/private:latest', user: 'local' },
];

for (const c of matches) {
  test(`docker auth data: ${c.image} → ${c.user ?? 'anonymous'}`, (t) => {
    const auth = parseEngineAuth('docker', dockerData).authFor(c.image);
    t.is(auth?.username, c.user);
    if (c.server !== undefined) t.is(auth?.serveraddress, c.server);
  });
}

test('docker shape: username, password and email reach the X-Registry-Auth body; auth is decoded at the first colon', (t) => {
  const lookup = parseEngineAuth('docker', dockerData);
  t.deepEqual(lookup.authFor('busybox'), {
    username: 'hubuser',
    password: 'hub-secret',
    serveraddress: 'index.docker.io/v1/',
    email: 'me@example.com',
  });
  t.deepEqual(lookup.authFor('127.0.0.1:5001/x'), {
    username: 'local',
    password: 'pa:ss',
    serveraddress: '127.0.0.1:5001',
  });
});

test('dockercfg shape: base64 user:password per registry, keys without scheme', (t) => {
  const lookup = parseEngineAuth(
    'dockercfg',
    JSON.stringify({
      'https://index.docker.io/v1/': { auth: b64('hub:pw1'), email: 'e@x' },
      'registry.example': { auth: b64('reg:pw2') },
    }),
  );
  t.like(lookup.authFor('ubuntu'), { username: 'hub', password: 'pw1', email: 'e@x' });
  t.like(lookup.authFor('registry.example/a/b:c'), {
    username: 'reg',
    password: 'pw2',
    serveraddress: 'registry.example',
  });
  t.is(lookup.authFor('registry.example.evil/a'), undefined);
});

test('no auth data: every image is pulled anonymously', (t) => {
  t.is(parseEngineAuth(undefined, undefined).authFor('busybox'), undefined);
  t.is(parseEngineAuth('docker', undefined).authFor('registry.example/a'), undefined);
  t.is(parseEngineAuth('docker', '{}').authFor('busybox'), undefined);
});

test('the answer is a copy: a caller changing it does not change the next answer', (t) => {
  const lookup = parseEngineAuth('docker', dockerData);
  const first = lookup.authFor('busybox')!;
  first.password = 'changed';
  t.is(lookup.authFor('busybox')?.password, 'hub-secret');
});

const SECRET = 'p4ss-DO-NOT-LEAK';
const malformedData: Array<{ type: 'docker' | 'dockercfg'; data: string; expected: RegExp }> = [
  { type: 'docker', data: `{"reg": {"username": "u", "password": "${SECRET}"`, expected: /not valid JSON/ },
  { type: 'docker', data: `["${SECRET}"]`, expected: /the value must be object/ },
  { type: 'docker', data: `{"reg": "${SECRET}"}`, expected: /"reg" must be object/ },
  { type: 'docker', data: `{"reg": {"username": "u", "password": 7}}`, expected: /"reg"\.password must be string/ },
  { type: 'docker', data: `{"reg": {"username": "u"}}`, expected: /entry "reg" to have a password/ },
  { type: 'docker', data: `{"reg": {"email": "${SECRET}"}}`, expected: /username and password, or auth/ },
  { type: 'dockercfg', data: `{"reg": {"username": "u", "password": "${SECRET}"}}`, expected: /to have auth/ },
  { type: 'dockercfg', data: `{"reg": {"auth": "${b64(`nocolon${SECRET}`)}"}}`, expected: /base64 of user:password/ },
  { type: 'dockercfg', data: `{"reg": {"auth": "${SECRET}!"}}`, expected: /base64 of user:password/ },
];

for (const [index, c] of malformedData.entries()) {
  test(`malformed ${c.type} data is a ConfigError naming ECS_ENGINE_AUTH_DATA, without the secret (${index}): ${c.expected}`, (t) => {
    const error = t.throws(() => parseEngineAuth(c.type, c.data), { instanceOf: ConfigError });
    t.is(error?.issues[0]?.variable, 'ECS_ENGINE_AUTH_DATA');
    t.regex(error?.message ?? '', c.expected);
    const everything = `${error?.message} ${JSON.stringify(error?.issues)} ${JSON.stringify(error?.context)} ${inspect(error)}`;
    t.false(everything.includes(SECRET), everything);
    t.false(everything.includes(b64(`nocolon${SECRET}`)));
  });
}

test('auth data without ECS_ENGINE_AUTH_TYPE is a ConfigError naming the type', (t) => {
  const error = t.throws(() => parseEngineAuth(undefined, '{}'), { instanceOf: ConfigError });
  t.is(error?.issues[0]?.variable, 'ECS_ENGINE_AUTH_TYPE');
});

test('a log line of the parsed config shows registries and usernames, never a password', (t) => {
  const lookup = parseEngineAuth('docker', dockerData);
  const { logger, lines } = createCapturingLogger();
  logger.info('Registry credentials loaded', { engineAuth: lookup });
  const fields = lines[0]!.fields;
  const rendered = [
    formatLogfmtLine('info', '1970-01-01T00:00:00Z', lines[0]!.msg, fields),
    formatJsonLine('info', '1970-01-01T00:00:00Z', lines[0]!.msg, fields),
    inspect(lookup, { depth: 10, showHidden: true }),
    JSON.stringify(lookup),
  ];
  for (const line of rendered) {
    t.regex(line, /registry\.example:5000\/team/);
    t.regex(line, /hubuser/);
    for (const secret of ['hub-secret', 'host-secret', 'team-secret', 'pa:ss', b64('local:pa:ss')]) {
      t.false(line.includes(secret), `${secret} in ${line}`);
    }
  }
});

test('splitImageRef follows Docker: a registry host has a dot, a port or is localhost', (t) => {
  t.deepEqual(splitImageRef('busybox:1'), { host: 'docker.io', repository: 'busybox' });
  t.deepEqual(splitImageRef('user/app'), { host: 'docker.io', repository: 'user/app' });
  t.deepEqual(splitImageRef('localhost/app:1'), { host: 'localhost', repository: 'app' });
  t.deepEqual(splitImageRef('127.0.0.1:5000/a/b@sha256:00'), { host: '127.0.0.1:5000', repository: 'a/b' });
  t.deepEqual(splitImageRef('reg.io/a/b:tag'), { host: 'reg.io', repository: 'a/b' });
});
