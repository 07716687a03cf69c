/**
 * The metrics endpoint: GET /metrics in the Prometheus text exposition format on a port of its own
 * (default 127.0.0.1:51680, design.md "Local endpoints"), 404 for anything else. node:http only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging/types.js';
import type { MetricsRegistry } from './registry.js';

export const DEFAULT_METRICS_HOST = '127.0.0.1';
export const DEFAULT_METRICS_PORT = 51680;

export interface MetricsServerOptions {
  registry: MetricsRegistry;
  /** Default 127.0.0.1: metrics stay on loopback unless configured otherwise. */
  host?: string;
  /** Default 51680; 0 picks a free port (tests). */
  port?: number;
  logger: Logger;
}

export interface MetricsServer {
  /** The port actually bound. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, logger } = options;
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const log = logger.child({ module: 'metrics-server' });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    try {
      const body = await registry.metricsText();
      res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } catch (error) {
      log.error('collecting metrics failed', { error: errorMessage(error) });
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('collecting metrics failed\n');
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_METRICS_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error('metrics server error', { error: errorMessage(error) }));
  const port = (server.address() as AddressInfo).port;
  log.info('metrics server listening', { host, port });

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers keep connections alive; without this close() waits for their idle timeout.
        server.closeAllConnections();
      }),
  };
}
