/**
 * A Distribution registry (Debian's `docker-registry`) on 127.0.0.1 for the images engine tests, holding one
 * distinct image pushed from the local test image (a committed layer of its own, so a pull really downloads
 * something), removed locally after the push. No auth: registry auth is tested with the shared harness of the
 * registry work; this one only needs a registry that can be up, down, or slow.
 *
 * Also a loopback HTTP proxy in front of it that can hold blob downloads (`holdBlobs`), so a test can watch
 * a pull in flight.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_IMAGE } from './agent-process.js';
import { waitFor } from './wait-for.js';

const execFileAsync = promisify(execFile);
const LABEL = 'ecsd-test.images-registry=1';

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args);
  return stdout.trim();
}

export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class ImagesRegistry {
  readonly dir = mkdtempSync(join(tmpdir(), 'ecsd-registry-'));
  port = 0;
  #child: ChildProcess | undefined;
  readonly #pushed: string[] = [];

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const config = join(this.dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(this.dir, 'data')}`,
        'http:',
        `  addr: 127.0.0.1:${this.port}`,
        '',
      ].join('\n'),
    );
    const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
    this.#child = child;
    await waitFor(
      'the registry to answer',
      async () => {
        try {
          const response = await fetch(`http://${this.host}/v2/`);
          return response.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  }

  /** Stops the registry (the port stays reserved for a restart on the same address). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /**
   * Pushes a distinct image (`<host>/ecsd-it-<random>:1`) and removes it locally. Returns its reference as
   * a task would write it. `extraCommand` runs in the image's build container too (e.g. to add a big file).
   */
  async pushDistinctImage(extraCommand?: string): Promise<string> {
    const name = `ecsd-it-${randomBytes(4).toString('hex')}`;
    const ref = `${this.host}/${name}:1`;
    const container = await docker(
      'create',
      '--label',
      LABEL,
      TEST_IMAGE,
      'sh',
      '-c',
      `echo ${randomBytes(8).toString('hex')} > /marker${extraCommand === undefined ? '' : ` && ${extraCommand}`}`,
    );
    try {
      await docker('start', '-a', container);
      await docker('commit', container, ref);
    } finally {
      await docker('rm', '-f', container).catch(() => {});
    }
    await docker('push', ref);
    this.#pushed.push(ref);
    await removeLocalImage(ref);
    return ref;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    for (const ref of this.#pushed) await removeLocalImage(ref);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function removeLocalImage(ref: string): Promise<void> {
  await docker('rmi', '-f', ref).catch(() => {});
}

export async function localImageExists(ref: string): Promise<boolean> {
  return docker('image', 'inspect', ref).then(
    () => true,
    () => false,
  );
}

/** A loopback proxy to `target` whose blob downloads wait while held (manifests and the API pass). */
export class HoldingProxy {
  port = 0;
  #held = false;
  readonly #waiting: Array<() => void> = [];
  readonly #server: Server;

  constructor(readonly target: string) {
    this.#server = createServer((req, res) => {
      const forward = (): void => {
        const upstream = request(
          `http://${this.target}${req.url ?? '/'}`,
          { method: req.method, headers: { ...req.headers, host: this.target } },
          (reply) => {
            res.writeHead(reply.statusCode ?? 502, reply.headers);
            reply.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      };
      if (this.#held && req.method === 'GET' && (req.url ?? '').includes('/blobs/')) this.#waiting.push(forward);
      else forward();
    });
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    for (const forward of this.#waiting.splice(0)) forward();
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
