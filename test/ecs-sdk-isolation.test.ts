/**
 * Issue 11: the AWS SDK is loaded only in ECS mode. Following every static (value) import from the CLI's entry
 * point — the code local mode loads — must never reach `@aws-sdk/*` or `@smithy/*`; ECS mode gets them
 * through `await import()` of src/ecs/index.ts. Type-only imports are erased by the compiler and do not count.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import test from 'ava';
import { REPO_ROOT } from './helpers/agent-process.js';

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(STATIC_IMPORT)].map((m) => m[1] as string);
}

/** Every package reached by static imports from `entry`, with the chain of files that led to it. */
function reachablePackages(...entries: string[]): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const stack: Array<{ file: string; chain: string[] }> = entries.map((file) => ({ file, chain: [] }));
  while (stack.length > 0) {
    const { file, chain } = stack.pop() as { file: string; chain: string[] };
    if (seen.has(file)) continue;
    seen.add(file);
    const here = [...chain, relative(REPO_ROOT, file)];
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        if (existsSync(target)) stack.push({ file: target, chain: here });
      } else if (!packages.has(specifier)) {
        packages.set(specifier, here);
      }
    }
  }
  return packages;
}

test('local mode (the CLI and everything it imports statically) never loads the AWS SDK', (t) => {
  // The CLI loads the agent with a dynamic import of its own, which local mode always takes.
  const packages = reachablePackages(join(REPO_ROOT, 'src/cli/main.ts'), join(REPO_ROOT, 'src/agent/agent.ts'));
  t.true(packages.has('better-sqlite3') && packages.has('prom-client'), 'the walk reaches the store and metrics');
  const sdk = [...packages].filter(([name]) => /^@(aws-sdk|smithy|aws-crypto)\//.test(name));
  t.deepEqual(
    sdk.map(([name, chain]) => `${name} via ${chain.join(' → ')}`),
    [],
  );
});

test('the ECS entry point does reach the SDK (so the walk above can see it)', (t) => {
  const packages = reachablePackages(join(REPO_ROOT, 'src/ecs/index.ts'));
  t.true(packages.has('@aws-sdk/client-ecs'));
  t.true(packages.has('@aws-sdk/credential-providers'));
});
