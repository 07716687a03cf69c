/**
 * A Docker Engine API stand-in on a unix socket that answers what an agent needs to start (ping, version,
 * info, empty lists, an event stream that stays open, every image present) and never answers the calls named
 * in `hang` — a dockerd stuck inside a create or stop. Every request is recorded, and the sockets of hung
 * requests are tracked so a test can see the client give up on them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HungDockerOptions {
  /** Which operations never get an answer. */
  hang: ReadonlyArray<'create' | 'start' | 'stop'>;
  /** What `/version` reports as ApiVersion (default 1.41, Docker 20.10's). */
  apiVersion?: string;
}

export class HungDocker {
  readonly #dir = mkdtempSync(join(tmpdir(), 'ecsd-hung-'));
  readonly socketPath = join(this.#dir, 'docker.sock');
  readonly host = `unix://${this.socketPath}`;
  /** `METHOD path` of every request, version prefix stripped. */
  readonly requests: string[] = [];
  /** Hung requests whose socket the client has closed. */
  abandoned = 0;
  readonly #server: Server;
  readonly #open = new Set<ServerResponse>();

  private constructor(private readonly options: HungDockerOptions) {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(options: HungDockerOptions): Promise<HungDocker> {
    const docker = new HungDocker(options);
    await new Promise<void>((resolve) => docker.#server.listen(docker.socketPath, resolve));
    return docker;
  }

  hungCount(): number {
    return this.requests.filter((r) => this.#hangs(r)).length;
  }

  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #hangs(request: string): boolean {
    const [method, path = ''] = request.split(' ');
    if (method !== 'POST') return false;
    return this.options.hang.some((op) =>
      op === 'create' ? path.startsWith('/containers/create') : new RegExp(`^/containers/[^/]+/${op}`).test(path),
    );
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').replace(/^\/v\d+\.\d+/, '');
    const request = `${req.method} ${path}`;
    this.requests.push(request);
    req.resume();
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.#hangs(request)) {
      this.#open.add(res);
      res.on('close', () => {
        this.#open.delete(res);
        this.abandoned += 1;
      });
      return;
    }
    const route = path.split('?')[0] ?? '';
    if (route === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
      res.end('OK');
    } else if (route === '/version') {
      json(200, { Version: '20.10.24-hung', ApiVersion: this.options.apiVersion ?? '1.41', MinAPIVersion: '1.12' });
    } else if (route === '/info') {
      json(200, {
        ServerVersion: '20.10.24-hung',
        CgroupVersion: '1',
        CgroupDriver: 'cgroupfs',
        NCPU: 2,
        MemTotal: 8 << 30,
      });
    } else if (route === '/events') {
      // An event stream that connects and never says anything: the agent must not wait on it to stop.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      this.#open.add(res);
      res.on('close', () => this.#open.delete(res));
    } else if (route === '/containers/json' || route === '/images/json' || route === '/networks') {
      json(200, []);
    } else if (route === '/volumes') {
      json(200, { Volumes: [], Warnings: null });
    } else if (/^\/images\/.+\/json$/.test(route)) {
      json(200, { Id: 'sha256:0000', RepoTags: ['ecsd-test/busybox:latest'], RepoDigests: [], Size: 1, Created: '' });
    } else {
      json(404, { message: `hung-docker: no route for ${request}` });
    }
  }
}
