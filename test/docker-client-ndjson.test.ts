/** The NDJSON line splitter (events, pull progress) and the API version choice, as pure functions. */
import test from 'ava';
import { chooseApiVersion, compareApiVersions } from '../src/docker/api-version.js';
import { withDefaultTag } from '../src/docker/engine-streams.js';
import { MAX_DOCKER_API_VERSION, MIN_DOCKER_API_VERSION, NdjsonLineSplitter } from '../src/docker/index.js';

test('lines split across chunks, and characters split across chunks, come out whole', (t) => {
  const splitter = new NdjsonLineSplitter();
  const events = Array.from({ length: 4 }, (_, n) => ({ n, Actor: { Attributes: { name: `ü-${n}`, brace: '}{' } } }));
  const bytes = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const cut = bytes.indexOf(Buffer.from('ü-2')) + 1; // inside the two-byte ü
  t.deepEqual(splitter.push(bytes.subarray(0, cut)), { values: events.slice(0, 2), malformed: 0 });
  t.deepEqual(splitter.push(bytes.subarray(cut)), { values: events.slice(2), malformed: 0 });
});

test('CRLF endings and blank lines are not errors; a last line without a newline is read at the end', (t) => {
  const splitter = new NdjsonLineSplitter();
  t.deepEqual(splitter.push('\n\r\n{"a":1}\r\n{"b":'), { values: [{ a: 1 }], malformed: 0 });
  t.deepEqual(splitter.push('2}'), { values: [], malformed: 0 });
  t.deepEqual(splitter.end(), { values: [{ b: 2 }], malformed: 0 });
});

test('a malformed line is skipped and counted, and the lines after it still arrive', (t) => {
  const splitter = new NdjsonLineSplitter();
  t.deepEqual(splitter.push('not json\n{"ok":true}\n[1,2]\n42\n{"g":}\n{"h":"é"}\n'), {
    values: [{ ok: true }, { h: 'é' }],
    malformed: 4,
  });
});

test('an over-long line is dropped once, not buffered, and parsing resumes after its newline', (t) => {
  const splitter = new NdjsonLineSplitter();
  const huge = `{"x":"${'a'.repeat(1 << 20)}`;
  t.deepEqual(splitter.push(huge), { values: [], malformed: 1 });
  t.deepEqual(splitter.push('aaaa"}\n{"next":1}\n'), { values: [{ next: 1 }], malformed: 0 });
});

test('the API version is the lower of the agent’s newest and the engine’s, within both minimums', (t) => {
  t.is(MIN_DOCKER_API_VERSION, '1.25');
  t.is(MAX_DOCKER_API_VERSION, '1.44');
  t.deepEqual(chooseApiVersion({ ApiVersion: '1.41', MinAPIVersion: '1.12' }), { version: '1.41' });
  t.deepEqual(chooseApiVersion({ ApiVersion: '1.25' }), { version: '1.25' });
  t.deepEqual(chooseApiVersion({ ApiVersion: '1.47', MinAPIVersion: '1.24' }), { version: '1.44' });
  t.deepEqual(chooseApiVersion({ ApiVersion: '1.52', MinAPIVersion: '1.44' }), { version: '1.44' });
  const refused = (report: { ApiVersion?: string; MinAPIVersion?: string }) => {
    const chosen = chooseApiVersion(report);
    return 'error' in chosen ? chosen.error.message : undefined;
  };
  t.regex(refused({ ApiVersion: '1.24', MinAPIVersion: '1.12' }) ?? '', /1\.24 is older than 1\.25/);
  t.regex(refused({ ApiVersion: '1.53', MinAPIVersion: '1.45' }) ?? '', /requires API 1\.45.*at most 1\.44/);
  t.regex(refused({}) ?? '', /no usable API version/);
  t.true(compareApiVersions('1.9', '1.10') < 0, 'minor versions compare as numbers, not strings');
});

test('a pull reference without a tag or digest pulls :latest, never every tag', (t) => {
  t.is(withDefaultTag('busybox'), 'busybox:latest');
  t.is(withDefaultTag('busybox:1.36'), 'busybox:1.36');
  t.is(withDefaultTag('127.0.0.1:5000/team/app'), '127.0.0.1:5000/team/app:latest');
  t.is(withDefaultTag('127.0.0.1:5000/team/app:v2'), '127.0.0.1:5000/team/app:v2');
  t.is(withDefaultTag('app@sha256:abc'), 'app@sha256:abc');
});
