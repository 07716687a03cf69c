/**
 * A real Distribution registry for one test: Debian's `docker-registry serve CONFIG.yml` on 127.0.0.1, its
 * storage and config in a temp directory, optional htpasswd basic auth (bcrypt: the registry accepts
 * nothing else; toolchain note). The engine treats 127.0.0.0/8 registries as insecure (plain HTTP) without
 * configuration, so nothing on the host changes. `scripts/ensure-registry.sh` installs the binaries.
 *
 * The registry binds port 0 itself and logs `listening on 127.0.0.1:PORT`; the port is read from that line,
 * so two tests never race for a port probed free. `pushTestImage` builds an image of its own from the local
 * test image plus a unique file (a layer no other image has, so a later pull really downloads it), pushes it
 * with a throw-away DOCKER_CONFIG (the host's credentials are never read or written) and removes it locally.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_IMAGE } from './agent-process.js';
import { waitFor } from './wait-for.js';

const execFileAsync = promisify(execFile);

/** Label on every image this helper builds, so a leftover is attributable (and removable) by label. */
export const REGISTRY_TEST_LABEL = 'com.ecsd.test.registry';
/** The registry starts in well under a second here; the rest is headroom for a busy 2-core machine. */
const START_TIMEOUT_MS = 30_000;
/** Default size of the unique file: big enough that a blob transfer spans many TCP reads (stall tests). */
const DEFAULT_PAYLOAD_BYTES = 256 * 1024;

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface StartRegistryOptions {
  /** htpasswd basic auth with this one user; anonymous access when absent. */
  auth?: RegistryCredentials;
}

export interface PushTestImageOptions {
  /** Bytes of random (incompressible) data in the image's unique layer; default 256 KiB. */
  payloadBytes?: number;
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT`: the registry part of an image reference. */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly auth: RegistryCredentials | undefined;
  /**
   * Builds a distinct image, pushes it as `HOST/name:tag` (tag `latest` by default) and removes it from the
   * engine; resolves with that full reference.
   */
  pushTestImage(name: string, tag?: string, options?: PushTestImageOptions): Promise<string>;
  /**
   * A DOCKER_CONFIG directory for `docker pull` from a test, holding a login for this registry with
   * `credentials` (default: the registry's own), or none with `null`. Removed by `stop()`.
   */
  dockerConfigFor(credentials?: RegistryCredentials | null): Promise<string>;
  /** Stops the registry process and deletes its storage. Safe to call twice. */
  stop(): Promise<void>;
}

function configYaml(storageDir: string, htpasswdPath: string | undefined): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    // Port 0: the kernel picks a free port and the registry logs it (see the header comment).
    '  addr: 127.0.0.1:0',
    // A fixed secret silences the start-up warning; it only signs upload state inside this one registry.
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (htpasswdPath !== undefined) {
    lines.push('auth:', '  htpasswd:', '    realm: ecsd-test', `    path: ${JSON.stringify(htpasswdPath)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Resolves with the port from the registry's `listening on 127.0.0.1:PORT` log line. */
function listeningPort(child: ChildProcess, output: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`docker-registry did not listen within ${START_TIMEOUT_MS} ms:\n${output()}`));
    }, START_TIMEOUT_MS);
    const onData = (): void => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output());
      if (match !== null) {
        cleanup();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`docker-registry exited (${code}) before listening:\n${output()}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

async function docker(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/**
 * A fresh DOCKER_CONFIG directory under `parent` whose config.json holds `credentials` for `host`, written
 * directly (what `docker login` would store) rather than through `docker login`, which refuses to store a
 * wrong password: tests need a config with wrong credentials to see the pull itself refused.
 */
export function dockerConfigDir(parent: string, host: string, credentials: RegistryCredentials | null): string {
  const dir = mkdtempSync(join(parent, 'docker-config-'));
  const auths =
    credentials === null
      ? {}
      : { [host]: { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') } };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ auths })}\n`, { mode: 0o600 });
  return dir;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-registry-'));
  const storageDir = join(dir, 'storage');
  mkdirSync(storageDir);
  let htpasswdPath: string | undefined;
  if (options.auth !== undefined) {
    htpasswdPath = join(dir, 'htpasswd');
    // -B: bcrypt, the only hash the registry's htpasswd auth accepts; -n prints instead of editing a file.
    const { stdout } = await execFileAsync('htpasswd', ['-Bbn', options.auth.username, options.auth.password]);
    writeFileSync(htpasswdPath, stdout, { mode: 0o600 });
  }
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, configYaml(storageDir, htpasswdPath));

  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer): void => {
    // Only the start-up lines matter (the port, or why it failed); keep memory bounded on long tests.
    if (output.length < 64 * 1024) output += chunk.toString('utf8');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stopProcess = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killTimer);
    }
  };

  let port: number;
  try {
    port = await listeningPort(child, () => output);
    const url = `http://127.0.0.1:${port}`;
    // /v2/ answers 200 anonymously, 401 with auth on: either means the HTTP side is up.
    await waitFor(
      `${url}/v2/ to answer`,
      async () => {
        try {
          const response = await fetch(`${url}/v2/`);
          return response.status === 200 || response.status === 401;
        } catch {
          return false;
        }
      },
      { timeoutMs: START_TIMEOUT_MS, describe: () => output },
    );
  } catch (error) {
    await stopProcess();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  let stopped = false;

  const dockerConfigFor = async (credentials?: RegistryCredentials | null): Promise<string> =>
    dockerConfigDir(dir, host, credentials === undefined ? (options.auth ?? null) : credentials);

  const pushTestImage = async (name: string, tag = 'latest', pushOptions: PushTestImageOptions = {}) => {
    const reference = `${host}/${name}:${tag}`;
    const context = mkdtempSync(join(dir, 'build-'));
    try {
      // A unique layer: random bytes (incompressible, so the blob is as large as asked) named after the image.
      writeFileSync(join(context, 'ecsd-unique'), randomBytes(pushOptions.payloadBytes ?? DEFAULT_PAYLOAD_BYTES));
      writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY ecsd-unique /ecsd-unique-${tag}\n`);
      const configDir = await dockerConfigFor();
      const env = { ...process.env, DOCKER_CONFIG: configDir, DOCKER_BUILDKIT: '0' };
      await docker(['build', '--quiet', '--label', `${REGISTRY_TEST_LABEL}=${name}`, '-t', reference, context], env);
      try {
        await docker(['push', reference], env);
      } finally {
        // Untag (and so delete: it has no other tag) even when the push failed, so nothing is left behind.
        await docker(['rmi', '--force', reference], env).catch(() => undefined);
      }
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    return reference;
  };

  return {
    host,
    port,
    url,
    auth: options.auth,
    pushTestImage,
    dockerConfigFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopProcess();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
