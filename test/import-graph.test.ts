/**
 * The module graph of src/ has no cycles, type-only imports included: a cycle
 * makes load order matter and ties two files that should be one, or should
 * share a third.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './util/cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(name) ? [resolve(path)] : [];
  });
}

function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps: string[] = [];
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'";]*?from\s+'(\.[^']+)'/g)) {
      const base = resolve(dirname(file), m[1]).replace(/\.js$/, '');
      const dep = [`${base}.ts`, `${base}.tsx`].find((f) => known.has(f));
      if (dep) deps.push(dep);
    }
    graph.set(file, deps);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') found.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

test('src/ has no import cycles', (t) => {
  const src = join(ROOT, 'src');
  const graph = importGraph(sources(src));
  t.true(graph.size > 100, 'the whole tree was read');
  t.deepEqual(cycles(graph).map((c) => c.map((f) => relative(src, f)).join(' -> ')), []);
});

test('the cycle finder finds a cycle', (t) => {
  t.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c', 'a']]);
});
