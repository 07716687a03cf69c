/**
 * The README's configuration and metrics tables, generated from their sources of truth (the config JSON
 * Schema and a live metrics registry) so the README cannot drift: `npm run readme` rewrites them and a
 * test fails when they are stale.
 */
import { readFileSync } from 'node:fs';
import { collectProcessMetrics } from '../metrics/process.js';
import { createMetricsRegistry } from '../metrics/registry.js';

interface SchemaProperty {
  description?: string;
  'x-kind'?: string;
  'x-default'?: string;
  'x-default-derived'?: string;
  'x-clamp-min'?: string | number;
  'x-clamp-max'?: string | number;
  'x-clamp-below'?: 'min' | 'default';
  'x-clamp-above'?: 'max' | 'default';
  'x-secret'?: boolean;
}

const escapeCell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function configTable(schemaPath: string): string {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { properties: Record<string, SchemaProperty> };
  const rows = Object.entries(schema.properties).map(([name, p]) => {
    const fallback = p['x-default-derived'] ?? '(unset)';
    const defaultText = p['x-default'] !== undefined ? `\`${p['x-default']}\`` : fallback;
    const clamps: string[] = [];
    if (p['x-clamp-min'] !== undefined) {
      clamps.push(`min ${p['x-clamp-min']} (below → ${p['x-clamp-below'] === 'default' ? 'default' : 'min'})`);
    }
    if (p['x-clamp-max'] !== undefined) {
      clamps.push(`max ${p['x-clamp-max']} (above → ${p['x-clamp-above'] === 'default' ? 'default' : 'max'})`);
    }
    const notes = [p.description ?? '', clamps.join('; '), p['x-secret'] ? 'Secret: redacted in output.' : '']
      .filter(Boolean)
      .join(' ');
    return `| \`${name}\` | ${p['x-kind'] ?? ''} | ${escapeCell(defaultText)} | ${escapeCell(notes)} |`;
  });
  return ['| variable | kind | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every metric family the agent registers, as the running agent registers them (containers loop included). */
export async function metricsTable(): Promise<string> {
  const metrics = createMetricsRegistry();
  collectProcessMetrics(metrics);
  metrics.registerLoop({ name: 'containers', actionKinds: ['record'], maxConcurrentReconciles: 1 });
  const families = await metrics.registry.getMetricsAsJSON();
  const rows = families
    .map((f) => {
      const labels = new Set<string>();
      for (const value of f.values as Array<{ labels: Record<string, unknown> }>) {
        for (const label of Object.keys(value.labels)) if (label !== 'le') labels.add(label);
      }
      return `| \`${f.name}\` | ${f.type} | ${[...labels].map((l) => `\`${l}\``).join(', ')} | ${escapeCell(f.help)} |`;
    })
    .sort();
  return ['| metric | type | labels | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Replace the text between `<!-- name:begin -->` and `<!-- name:end -->`. */
export function replaceSection(readme: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const start = readme.indexOf(begin);
  const stop = readme.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`README has no ${name} section`);
  return `${readme.slice(0, start + begin.length)}\n${body}\n${readme.slice(stop)}`;
}

export async function renderReadme(readme: string, schemaPath: string): Promise<string> {
  const withConfig = replaceSection(readme, 'config-table', configTable(schemaPath));
  return replaceSection(withConfig, 'metrics-table', await metricsTable());
}
