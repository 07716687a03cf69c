/**
 * Whether a host port is free, read synchronously from /proc/net so the allocator can stay synchronous:
 * a TCP port in LISTEN state (st 0A) or any bound UDP port is taken. Ports Docker publishes through
 * docker-proxy show up here too, so this also sees ports taken by containers the agent does not manage.
 */
import { readFileSync } from 'node:fs';
import type { TransportProtocol } from '../model/task.js';

const TCP_LISTEN = '0A';

export function portsInUse(protocol: TransportProtocol, procNetDir = '/proc/net'): Set<number> {
  const files = protocol === 'tcp' ? ['tcp', 'tcp6'] : ['udp', 'udp6'];
  const ports = new Set<number>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(`${procNetDir}/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      if (!local || !state) continue;
      if (protocol === 'tcp' && state !== TCP_LISTEN) continue;
      const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (Number.isFinite(port)) ports.add(port);
    }
  }
  return ports;
}

export function isHostPortFree(port: number, protocol: TransportProtocol, procNetDir?: string): boolean {
  return !portsInUse(protocol, procNetDir).has(port);
}
