/**
 * `ecsd -healthcheck`, as upstream (fact sheet 5.6): HEAD http://<host>:51678/v1/metadata with a 25 s
 * timeout; any HTTP response means healthy (exit 0), a transport error unhealthy (exit 1).
 */
import { request } from 'node:http';

const HEALTHCHECK_TIMEOUT_MS = 25_000;

export function runHealthcheck(host: string, port = 51678): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: '/v1/metadata', method: 'HEAD', timeout: HEALTHCHECK_TIMEOUT_MS },
      (res) => {
        res.resume();
        resolve(0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(1));
    req.end();
  });
}
