/**
 * A second, private Docker engine for one test, so a test can stop and start an engine (a dockerd outage)
 * without touching the shared engine at /var/run/docker.sock that other tests and sessions use.
 *
 * Isolation from the shared engine: its own --data-root, --exec-root (so its own managed containerd, with
 * its socket, state and root under the exec/data roots), --pidfile, socket and an empty --config-file; a
 * bridge of its own (never `--bridge=none`: dockerd then deletes the host's docker0 at start-up, breaking
 * the shared engine), no iptables, no masquerading, no ip_forward, so docker0 and the host's iptables are
 * left alone. Tasks on it use networkMode none or host (its bridge has no NAT). Every path lives under one short /tmp/ecsd-pd-XXXX
 * directory (unix socket paths are limited to 108 bytes; containerd puts its sockets under exec-root).
 *
 * `stop()` and `start()` may be called any number of times (same directories, same socket) to simulate an
 * outage; `destroy()` removes every container, stops the engine, kills what is left of its container
 * processes, unmounts and deletes its directories.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_IMAGE } from './agent-process.js';
import { waitFor } from './wait-for.js';

const execFileAsync = promisify(execFile);

/** dockerd answers in well under a second here (toolchain note); the rest is headroom for a busy machine. */
const START_TIMEOUT_MS = 60_000;
/** With live-restore dockerd leaves containers alone, so a SIGTERM stop is quick; without, it stops them. */
const STOP_GRACE_MS = 30_000;

export interface PrivateDockerdOptions {
  /**
   * `--live-restore`: containers keep running while the daemon is down (their shims outlive containerd)
   * and are picked up again when it starts. Without it, stopping the daemon stops every container.
   */
  liveRestore?: boolean;
}

/** Whether a process of that PID exists (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** `/_ping` on a unix socket: true when the engine answers OK. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class PrivateDockerd {
  /** Short on purpose: containerd's sockets live under exec-root and unix socket paths max out at 108 bytes. */
  readonly dir = mkdtempSync('/tmp/ecsd-pd-');
  readonly dataRoot = join(this.dir, 'data');
  readonly execRoot = join(this.dir, 'exec');
  readonly pidFile = join(this.dir, 'docker.pid');
  readonly socketPath = join(this.dir, 'docker.sock');
  readonly logFile = join(this.dir, 'dockerd.log');
  /** What DOCKER_HOST / `docker -H` take. */
  readonly host = `unix://${this.socketPath}`;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private destroyed = false;
  private bridgeName: string | undefined;

  constructor(private readonly options: PrivateDockerdOptions = {}) {
    mkdirSync(this.dataRoot);
    mkdirSync(this.execRoot);
    // An empty config file, so a host /etc/docker/daemon.json (hosts, bridge, …) cannot leak in.
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  /** Starts an engine with the test image loaded; `destroy()` it in the test's teardown. */
  static async create(options: PrivateDockerdOptions = {}): Promise<PrivateDockerd> {
    const engine = new PrivateDockerd(options);
    try {
      await engine.start();
      await engine.loadTestImage();
    } catch (error) {
      await engine.destroy();
      throw error;
    }
    return engine;
  }

  isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  pid(): number | undefined {
    return this.isRunning() ? this.child?.pid : undefined;
  }

  /** Starts dockerd (detached, in a session of its own) and resolves once `/_ping` answers: the ms it took. */
  async start(): Promise<number> {
    if (this.destroyed) throw new Error('private dockerd: start after destroy');
    if (this.isRunning()) return 0;
    this.clearStalePidFiles();
    const startedMs = Date.now();
    const log = openSync(this.logFile, 'a');
    const args = [
      `--data-root=${this.dataRoot}`,
      `--exec-root=${this.execRoot}`,
      `--pidfile=${this.pidFile}`,
      `--config-file=${join(this.dir, 'daemon.json')}`,
      `-H=${this.host}`,
      // NOT --bridge=none: a dockerd with the bridge disabled deletes the host's docker0 at start-up
      // (removeDefaultBridgeInterface), which breaks the shared engine every other test uses. A bridge of
      // its own instead (integrator's fix, found when docker0 vanished during a parallel run).
      `--bridge=${this.ensureOwnBridge()}`,
      '--iptables=false',
      '--ip-masq=false',
      '--ip-forward=false',
      ...(this.options.liveRestore ? ['--live-restore'] : []),
    ];
    // detached: setsid(), so the engine is not in the test's process group and survives its signals; it is
    // stopped by PID only.
    const child = spawn('dockerd', args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(
        'private dockerd /_ping',
        async () => {
          if (!this.isRunning()) throw new Error(`private dockerd exited:\n${this.logTail()}`);
          return ping(this.socketPath);
        },
        { timeoutMs: START_TIMEOUT_MS, intervalMs: 100, describe: () => this.logTail() },
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
    return Date.now() - startedMs;
  }

  /** SIGTERM to dockerd by PID, SIGKILL after a grace period; its managed containerd goes with it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && this.isRunning()) {
      killQuietly(child.pid, 'SIGTERM');
      // A referenced timer: the child is unref'd (a crashed test must not wait on it), so without one an
      // otherwise idle test process would exit mid-stop (ava: "promise never resolved").
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.exited?.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        killQuietly(child.pid, 'SIGKILL');
        await waitFor('private dockerd killed', () => !this.isRunning(), { timeoutMs: 10_000 });
      }
    }
    // A SIGKILLed dockerd leaves its containerd behind; a stopped one has already taken it down.
    const containerdPid = readPid(this.containerdPidFile());
    if (containerdPid !== undefined && processAlive(containerdPid) && this.isOurs(containerdPid)) {
      killQuietly(containerdPid, 'SIGKILL');
    }
  }

  /** `docker -H <this engine> …`, trimmed stdout. */
  async docker(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('docker', ['-H', this.host, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  }

  /** Copies the shared engine's test image in (`docker save | docker -H … load`); no registry involved. */
  async loadTestImage(image = TEST_IMAGE): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
      const load = spawn('docker', ['-H', this.host, 'load', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      save.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      load.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      load.stdout.resume();
      save.stdout.pipe(load.stdin);
      let pending = 2;
      let failed = false;
      const done = (what: string) => (code: number | null) => {
        if (code !== 0 && !failed) {
          failed = true;
          reject(new Error(`${what} exited with ${code}: ${stderr}`));
        }
        if (--pending === 0 && !failed) resolve();
      };
      save.once('exit', done('docker save'));
      load.once('exit', done('docker load'));
    });
  }

  /** The main process PID of a container, as the host sees it (0 when not running). */
  async containerPid(id: string): Promise<number> {
    return Number(await this.docker('inspect', '--format', '{{.State.Pid}}', id));
  }

  logTail(chars = 3000): string {
    try {
      return `--- private dockerd log (tail) ---\n${readFileSync(this.logFile, 'utf8').slice(-chars)}`;
    } catch {
      return '';
    }
  }

  /** A bridge for this engine alone (an interface name is at most 15 chars), so it never touches docker0. */
  private ensureOwnBridge(): string {
    const name = `ecsdpd${this.dir.slice(-6).replace(/[^a-zA-Z0-9]/g, '')}`.slice(0, 15);
    try {
      execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    } catch {
      execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
      const octet = 1 + Math.floor(Math.random() * 250);
      execFileSync('ip', ['addr', 'add', `10.213.${octet}.1/24`, 'dev', name]);
      execFileSync('ip', ['link', 'set', name, 'up']);
    }
    this.bridgeName = name;
    return name;
  }

  private deleteOwnBridge(): void {
    if (this.bridgeName === undefined) return;
    try {
      execFileSync('ip', ['link', 'del', this.bridgeName], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
    this.bridgeName = undefined;
  }

  /**
   * Removes every container (all of them are the test's: the engine is private), stops the engine, kills
   * whatever container processes are left (their shims outlive the daemon), unmounts what dockerd left
   * mounted under its roots and deletes the directory. Safe to call more than once.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      if (!this.isRunning()) await this.start().catch(() => {});
      if (this.isRunning()) {
        const ids = (await this.docker('ps', '-aq').catch(() => '')).split('\n').filter(Boolean);
        if (ids.length > 0) await this.docker('rm', '-f', '-v', ...ids).catch(() => '');
      }
      await this.stop();
      this.killLeftoverShims();
      await this.unmountAll();
      this.deleteOwnBridge();
    } finally {
      this.destroyed = true;
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private containerdPidFile(): string {
    return join(this.execRoot, 'containerd', 'containerd.pid');
  }

  /** True when the process's command line names this engine's directory (a PID may have been reused). */
  private isOurs(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dir);
    } catch {
      return false;
    }
  }

  /** A dockerd or containerd killed earlier leaves pid files that make the next start refuse or misbehave. */
  private clearStalePidFiles(): void {
    for (const path of [this.pidFile, this.containerdPidFile()]) {
      if (!existsSync(path)) continue;
      const pid = readPid(path);
      if (pid === undefined || !processAlive(pid) || !this.isOurs(pid)) rmSync(path, { force: true });
    }
  }

  /**
   * Shims of this engine's containers (`containerd-shim-runc-v2 … -address <exec-root>/…`) and the
   * container init processes under them: SIGKILL the init (its PID namespace goes with it), then the shim.
   */
  private killLeftoverShims(): void {
    const pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
    for (const pid of pids) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmdline.includes('containerd-shim') || !cmdline.includes(this.execRoot)) continue;
      let children: string[] = [];
      try {
        children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
      } catch {
        // no children file: nothing to kill below it
      }
      for (const childPid of children) killQuietly(Number(childPid), 'SIGKILL');
      killQuietly(Number(pid), 'SIGKILL');
    }
  }

  /** dockerd bind-mounts its data root onto itself and leaves overlay and netns mounts behind a SIGKILL. */
  private async unmountAll(): Promise<void> {
    const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((mountPoint) => mountPoint === this.dir || mountPoint.startsWith(`${this.dir}/`))
      // Deepest first, so an overlay under the data root goes before the data root's own bind mount.
      .sort((a, b) => b.length - a.length);
    for (const mountPoint of mountPoints) {
      await execFileAsync('umount', ['-l', mountPoint]).catch(() => {});
    }
  }
}
