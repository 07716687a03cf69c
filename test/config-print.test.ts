// `ecsd config print`: effective values with their source, secrets redacted in the table and in JSON.
import test from 'ava';
import { configPrintJson, formatConfigPrint, loadConfig, REDACTED } from '../src/config/index.js';

const SECRETS = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLESECRET1',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-SECRET2',
  AWS_SESSION_TOKEN: 'session-token-SECRET3',
  ECS_ENGINE_AUTH_DATA: '{"https://index.docker.io/v1/":{"auth":"dXNlcjpTRUNSRVQ0"}}',
  HTTP_PROXY: 'http://proxyuser:SECRET5@10.0.0.131:3128',
};
const SECRET_MARKERS = ['SECRET1', 'SECRET2', 'SECRET3', 'dXNlcjpTRUNSRVQ0', 'SECRET5', 'proxyuser'];

function loaded() {
  return loadConfig({
    env: { ...SECRETS, ECS_CLUSTER: 'prod', ECS_CONTAINER_STOP_TIMEOUT: '100ms', ECS_ENGINE_AUTH_TYPE: 'dockercfg' },
    flags: { logLevel: 'debug', acceptInsecureCert: true },
    readFile: () => 'ECS_DATADIR=/var/lib/ecsd\nECS_RESERVED_PORTS=[22,80]',
  });
}

test('the table shows each variable with its effective value and source', (t) => {
  const lines = formatConfigPrint(loaded()).split('\n');
  const row = (variable: string): string[] => {
    const line = lines.find((candidate) => candidate.startsWith(`${variable} `));
    return line === undefined ? [] : line.split(/\s{2,}/);
  };
  t.deepEqual(lines[0]!.split(/\s{2,}/), ['VARIABLE', 'VALUE', 'SOURCE']);
  t.deepEqual(row('ECS_CLUSTER'), ['ECS_CLUSTER', 'prod', 'env']);
  t.deepEqual(row('ECS_DATADIR'), ['ECS_DATADIR', '/var/lib/ecsd', 'file']);
  t.deepEqual(row('ECS_CHECKPOINT'), ['ECS_CHECKPOINT', 'true', 'default']);
  t.deepEqual(row('ECS_RESERVED_PORTS'), ['ECS_RESERVED_PORTS', '[22,80]', 'file']);
  t.deepEqual(row('ECS_LOGLEVEL'), ['ECS_LOGLEVEL', 'debug', 'flag']);
  t.deepEqual(row('ECS_CONTAINER_STOP_TIMEOUT'), ['ECS_CONTAINER_STOP_TIMEOUT', '1s', 'env']);
  t.deepEqual(row('ECS_IMAGE_CLEANUP_INTERVAL'), ['ECS_IMAGE_CLEANUP_INTERVAL', '30m', 'default']);
  t.deepEqual(row('ECS_LOGFILE'), ['ECS_LOGFILE', '<unset>', 'default']);
  t.deepEqual(row('-k'), ['-k', 'true', 'flag']);
  t.true(lines.includes('warnings:'));
  t.true(lines.some((line) => line.includes('ECS_CONTAINER_STOP_TIMEOUT=100ms')));
});

test('secrets are redacted in the table', (t) => {
  const text = formatConfigPrint(loaded());
  for (const marker of SECRET_MARKERS) t.false(text.includes(marker), marker);
  for (const variable of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'ECS_ENGINE_AUTH_DATA']) {
    t.regex(text, new RegExp(`^${variable}\\s+${REDACTED}\\s+env$`, 'm'));
  }
  t.regex(text, /^HTTP_PROXY\s+http:\/\/<redacted>@10\.0\.0\.131:3128\s+env$/m);
  t.regex(text, /^ECS_ENGINE_AUTH_TYPE\s+dockercfg\s+env$/m);
});

test('secrets are redacted in the JSON form, in the rows and in the config copy', (t) => {
  const json = configPrintJson(loaded());
  const text = JSON.stringify(json);
  for (const marker of SECRET_MARKERS) t.false(text.includes(marker), marker);
  t.is(json.config['awsSecretAccessKey'], REDACTED);
  t.is(json.config['engineAuthData'], REDACTED);
  t.is(json.config['httpProxy'], 'http://<redacted>@10.0.0.131:3128');
  t.is(json.config['cluster'], 'prod');
  t.is(json.configFile, '/etc/ecs/ecs.config');
  t.deepEqual(
    json.variables.find((row) => row.variable === 'ECS_ENGINE_AUTH_DATA'),
    { variable: 'ECS_ENGINE_AUTH_DATA', field: 'engineAuthData', value: REDACTED, source: 'env' },
  );
  t.deepEqual(
    json.variables.find((row) => row.variable === 'AWS_DEFAULT_REGION'),
    { variable: 'AWS_DEFAULT_REGION', field: 'awsRegion', value: null, source: 'default' },
  );
  t.is(json.warnings.length, 1);
});

test('printing does not change the loaded config (it stays frozen with the real secrets)', (t) => {
  const config = loaded();
  configPrintJson(config);
  formatConfigPrint(config);
  t.is(config.config.awsSecretAccessKey, SECRETS.AWS_SECRET_ACCESS_KEY);
  t.true(Object.isFrozen(config.config));
});
