/**
 * A small static import graph of our own sources, for architecture rules. It reads value
 * imports (`import … from`, `export … from`, `import('…')`) and skips type-only imports,
 * which the compiler erases and so never load server code on a device.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SPEC = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function valueImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(SPEC)) {
    if (m[2]) continue; // import type / export type
    const spec = m[3] ?? m[4];
    if (spec) out.push(spec);
  }
  return out;
}

export function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

export interface Violation {
  from: string;
  chain: string[];
  target: string;
}

/**
 * Walks value imports from each root file; reports every path that reaches a forbidden
 * source folder or package. `root` is the repository root for readable paths.
 */
export function findViolations(root: string, entries: string[], forbiddenDirs: string[], forbiddenPackages: string[]): Violation[] {
  const violations: Violation[] = [];
  const absForbidden = forbiddenDirs.map((d) => resolve(root, d) + '/');
  for (const entry of entries) {
    const seen = new Set<string>();
    const stack: { file: string; chain: string[] }[] = [{ file: resolve(root, entry), chain: [] }];
    while (stack.length > 0) {
      const { file, chain } = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of valueImports(file)) {
        const here = [...chain, relative(root, file)];
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (absForbidden.some((d) => target.startsWith(d))) {
            violations.push({ from: entry, chain: here, target: relative(root, target) });
            continue;
          }
          if (existsSync(target)) stack.push({ file: target, chain: here });
        } else {
          const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (forbiddenPackages.includes(pkg)) violations.push({ from: entry, chain: here, target: spec });
        }
      }
    }
  }
  return violations;
}
