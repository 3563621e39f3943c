import { dirname, join, normalize, relative } from 'node:path';
import { read, sourceFiles } from './project';

/**
 * The layers of src/, top to bottom; a module may import its own layer and those below it,
 * never one above. The composition root (main, bot) wires everything and sits above all;
 * the platform helpers (config, logger, text, …) import no layer and may be used by any.
 */
const LAYERS = ['inbound', 'use-cases', 'outbound', 'reader', 'ports', 'domain'] as const;
type Layer = (typeof LAYERS)[number];

function layerOf(file: string): Layer | undefined {
  const top = relative('src', file).split('/')[0] as string;
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : undefined;
}

/** Every relative import of a source file (tests excluded: they drive a layer from outside). */
function importsOf(file: string): string[] {
  const specs = [...read(file).matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((s) => normalize(join(dirname(file), s)));
}

const files = sourceFiles('src').filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

describe('layers: imports only go down', () => {
  it('finds the layers in src/', () => {
    for (const layer of LAYERS) expect(files.some((f) => layerOf(f) === layer)).toBe(true);
  });

  it.each(LAYERS.map((l) => [l]))('%s imports nothing above it, and nothing of the composition root', (layer) => {
    const rank = LAYERS.indexOf(layer);
    const wrong: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === layer)) {
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        const root = ['src/bot', 'src/main'].includes(target);
        if (root || (to !== undefined && LAYERS.indexOf(to) < rank)) wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('domain imports nothing at all of ours', () => {
    const wrong = files.filter((f) => layerOf(f) === 'domain').flatMap((f) => importsOf(f).filter((t) => layerOf(t) !== 'domain').map((t) => `${f} → ${t}`));
    expect(wrong).toEqual([]);
  });

  it('renderers import only the domain and formatting helpers', () => {
    const wrong = files
      .filter((f) => f.startsWith('src/outbound/messages/'))
      .flatMap((f) => importsOf(f).filter((t) => !t.startsWith('src/outbound/messages/') && layerOf(t) !== 'domain').map((t) => `${f} → ${t}`));
    expect(wrong).toEqual([]);
  });
});
