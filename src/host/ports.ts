/**
 * Host ports for port mappings with hostPort 0. Upstream picks these itself rather than letting Docker do it
 * (fact sheet 3.6): from the dynamic range, probing each candidate, continuing after the last port handed out
 * and wrapping around to the start of the range once. The probe is injected (`isFree`), so this stays pure
 * bookkeeping and testable without sockets.
 */
import { CannotCreateContainerError, type EcsdErrorOptions } from '../errors.js';
import type { TransportProtocol } from '../model/task.js';

export interface PortRange {
  startPort: number;
  endPort: number;
}

/** Upstream's fallback when ip_local_port_range cannot be read or parsed (fact sheet 3.6). */
export const DEFAULT_DYNAMIC_PORT_RANGE: Readonly<PortRange> = Object.freeze({ startPort: 49153, endPort: 65535 });

const MAX_PORT = 65535;

/** No free port left in the range: the create that needed it cannot happen (fact sheet 4.6, create failure). */
export class HostPortExhaustedError extends CannotCreateContainerError {
  constructor(range: PortRange, protocol: TransportProtocol, options: EcsdErrorOptions = {}) {
    super(`no free host port for ${protocol} in the dynamic range ${range.startPort}-${range.endPort}`, {
      ...options,
      context: { ...options.context, startPort: range.startPort, endPort: range.endPort, protocol },
    });
  }
}

export interface HostPortAllocatorOptions {
  range: PortRange;
  /** Ports never handed out (ECS_RESERVED_PORTS and ECS_RESERVED_PORTS_UDP, the agent's own ports…). */
  reserved: ReadonlySet<number>;
  /** Whether the host can bind the port now; a probe that throws counts as "not free", as upstream's does. */
  isFree: (port: number, protocol: TransportProtocol) => boolean;
}

export class HostPortAllocator {
  private readonly range: PortRange;
  private readonly reserved: ReadonlySet<number>;
  private readonly isFree: (port: number, protocol: TransportProtocol) => boolean;
  private readonly taken: Record<TransportProtocol, Set<number>> = { tcp: new Set(), udp: new Set() };
  /** Shared by both protocols, as upstream's single tracker is; undefined until the first port is handed out. */
  private lastPort: number | undefined;

  constructor(options: HostPortAllocatorOptions) {
    const { startPort, endPort } = options.range;
    if (
      !Number.isInteger(startPort) ||
      !Number.isInteger(endPort) ||
      startPort < 1 ||
      endPort > MAX_PORT ||
      startPort > endPort
    ) {
      throw new CannotCreateContainerError(`invalid dynamic host port range ${startPort}-${endPort}`, {
        context: { startPort, endPort },
      });
    }
    this.range = { startPort, endPort };
    this.reserved = options.reserved;
    this.isFree = options.isFree;
  }

  /**
   * The next free port after the last one handed out; past the end of the range the search starts over at
   * its beginning, once. Throws HostPortExhaustedError when every port is reserved, taken or busy.
   */
  allocate(protocol: TransportProtocol): number {
    const { startPort, endPort } = this.range;
    const size = endPort - startPort + 1;
    const first = this.lastPort === undefined || this.lastPort >= endPort ? startPort : this.lastPort + 1;
    for (let i = 0; i < size; i++) {
      const port = first + i > endPort ? first + i - size : first + i;
      if (!this.available(port, protocol)) continue;
      this.taken[protocol].add(port);
      this.lastPort = port;
      return port;
    }
    throw new HostPortExhaustedError(this.range, protocol);
  }

  /**
   * `count` consecutive free ports for a containerPortRange mapping (upstream hands a contiguous host range
   * to a container port range); returns the first. Same continuation and wrap-around as allocate().
   */
  allocateRange(count: number, protocol: TransportProtocol): number {
    const { startPort, endPort } = this.range;
    const size = endPort - startPort + 1;
    if (count < 1 || count > size) throw new HostPortExhaustedError(this.range, protocol);
    let first = this.lastPort === undefined || this.lastPort >= endPort ? startPort : this.lastPort + 1;
    for (let tried = 0; tried < size; tried++, first++) {
      if (first + count - 1 > endPort) first = startPort;
      let ok = true;
      for (let port = first; port < first + count && ok; port++) ok = this.available(port, protocol);
      if (!ok) continue;
      for (let port = first; port < first + count; port++) this.taken[protocol].add(port);
      this.lastPort = first + count - 1;
      return first;
    }
    throw new HostPortExhaustedError(this.range, protocol);
  }

  /** Gives a port back (its container was removed or its create failed). */
  release(port: number, protocol: TransportProtocol): void {
    this.taken[protocol].delete(port);
  }

  /** Marks a port as in use without handing it out: a container found running after an agent restart. */
  markTaken(port: number, protocol: TransportProtocol): void {
    this.taken[protocol].add(port);
  }

  private available(port: number, protocol: TransportProtocol): boolean {
    if (this.reserved.has(port) || this.taken[protocol].has(port)) return false;
    try {
      return this.isFree(port, protocol);
    } catch {
      return false;
    }
  }
}

/**
 * `/proc/sys/net/ipv4/ip_local_port_range` holds two whitespace-separated numbers ("32768\t60999\n").
 * Anything else (missing file passed as '', garbage, an inverted or out-of-bounds range) gives the fallback.
 */
export function parseIpLocalPortRange(text: string): PortRange {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) return { ...DEFAULT_DYNAMIC_PORT_RANGE };
  const [startText = '', endText = ''] = fields;
  if (!/^\d+$/.test(startText) || !/^\d+$/.test(endText)) return { ...DEFAULT_DYNAMIC_PORT_RANGE };
  const startPort = Number(startText);
  const endPort = Number(endText);
  if (startPort < 1 || endPort > MAX_PORT || startPort > endPort) return { ...DEFAULT_DYNAMIC_PORT_RANGE };
  return { startPort, endPort };
}
