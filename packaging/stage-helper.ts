// stageHelper lays the privileged helper out in an installer's resources/helper/ folder, the
// way the repository lays it out, so that bin/warren, the ESM package.json and the native addon
// lookup (src-shared/lib/native/load.ts walks up to a package.json) work unchanged:
//
//   helper/warren                                    launcher (packaging/warren)
//   helper/bin/warren                                bin/warren
//   helper/package.json                              generated: name warren, version, "type": "module"
//   helper/dist/helper/src/**/*.js, dist/src-shared/**/*.js   compiled code, tests left out
//   helper/native/build/Release/*.node        the N-API addon
//   helper/node_modules/<pkg>                        the packages the code imports, and theirs
//
// It carries no app, coordinator or relay code (EXCLUDED_DIRS): staging fails if the helper's
// imports reach one. The browser fallback that `warren ui` runs is app code, staged beside the
// helper in resources/web-ui/ (stage-web-ui.ts). electron-builder runs both after packing
// (after-pack.ts); packaging.test.ts runs that hook directly.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** StageOptions says where the repository is and where the helper goes. */
export interface StageOptions {
  /** projectDir is the repository root, after `npm run build`. */
  projectDir: string;
  /** helperDir is the folder to fill, e.g. <resources>/helper; it is created. */
  helperDir: string;
  /** platform is the target's process.platform value; the addon is required on linux. */
  platform: string;
}

/** StageResult tells what was staged, for logs and tests. */
export interface StageResult {
  files: number;
  packages: string[];
}

/** MAX_FILES bounds the staged tree; the helper is a few hundred files. */
export const MAX_FILES = 20_000;
/** MAX_PACKAGES bounds the dependency closure. */
export const MAX_PACKAGES = 200;
const MAX_DEPTH = 32;

/** CODE_DIRS are the compiled folders the helper runs from, relative to the repository. */
export const CODE_DIRS = ['dist/helper/src', 'dist/src-shared'] as const;
/** EXCLUDED_DIRS are built folders the helper must not carry: the app (its main side, the
 * Electron and web UI bundles, the renderer), the coordinator and warren-relay
 * (.dependency-cruiser.cjs keeps the helper's imports out of them). */
export const EXCLUDED_DIRS = [
  'dist/src-main',
  'dist/electron',
  'dist/web-ui',
  'dist/renderer',
  'dist/coordinator',
  'dist/relay',
] as const;
/** ADDON_DIR is where node-gyp leaves the native addon. */
export const ADDON_DIR = 'native/build/Release';

/** stageHelper copies the helper into opts.helperDir; it throws naming what is missing. */
export function stageHelper(opts: StageOptions): StageResult {
  const { projectDir, helperDir } = opts;
  const counter = { files: 0 };
  const copy = (from: string, to: string, mode?: number): void => {
    if (++counter.files > MAX_FILES)
      throw new Error(`more than ${MAX_FILES} files to stage; is ${projectDir} the repository?`);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    if (mode !== undefined) chmodSync(to, mode);
  };

  const code = collectCode(projectDir);
  for (const file of code) copy(join(projectDir, file), join(helperDir, file));
  copy(join(projectDir, 'bin', 'warren'), join(helperDir, 'bin', 'warren'), 0o755);
  copy(join(projectDir, 'packaging', 'warren'), join(helperDir, 'warren'), 0o755);

  const root = readJson(join(projectDir, 'package.json'));
  // Named warren: `warren ui` finds its folder, and resources/web-ui beside it, by that name
  // (src-shared/lib/package-root.ts, helper/src/cli/web-ui-entry.ts).
  const pkg = { name: 'warren', version: String(root.version ?? '0.0.0'), private: true, type: 'module' };
  mkdirSync(helperDir, { recursive: true });
  writeFileSync(join(helperDir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  counter.files++;

  const addonDir = join(projectDir, ADDON_DIR);
  const addons = existsSync(addonDir) ? readdirSync(addonDir).filter((f) => f.endsWith('.node')) : [];
  if (addons.length === 0 && opts.platform === 'linux') {
    throw new Error(`no native addon in ${addonDir}: build it with \`npm ci\` (node-gyp) first`);
  }
  for (const f of addons) copy(join(addonDir, f), join(helperDir, ADDON_DIR, f));

  const packages = dependencyClosure(
    projectDir,
    code.map((f) => join(projectDir, f)),
  );
  for (const name of packages) {
    const src = join(projectDir, 'node_modules', name);
    for (const file of listFiles(src, () => true)) copy(join(src, file), join(helperDir, 'node_modules', name, file));
  }
  return { files: counter.files, packages };
}

/** importSpecifiers returns every module specifier a JS or TS source imports or requires. */
export function importSpecifiers(source: string): string[] {
  const out = new Set<string>();
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"\n]{1,200})['"]/gm, // import … from 'x', export … from 'x'
    /^\s*import\s*['"]([^'"\n]{1,200})['"]/gm, // import 'x'
    /\bimport\(\s*['"]([^'"\n]{1,200})['"]\s*\)/g, // import('x')
    /\brequire\(\s*['"]([^'"\n]{1,200})['"]\s*\)/g, // require('x')
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.add(m[1]!);
  return [...out];
}

/** bareImports returns the package names a JS or TS source imports (not node: or relative). */
export function bareImports(source: string): string[] {
  const names = new Set<string>();
  for (const spec of importSpecifiers(source)) {
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
    const parts = spec.split('/');
    const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
    if (!PACKAGE_NAME.test(name) || isBuiltin(name)) continue;
    names.add(name);
  }
  return [...names].sort();
}

const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/**
 * collectCode lists the compiled modules the helper runs (paths relative to projectDir): the
 * non-test .js files of CODE_DIRS and, transitively, every other module under dist/ they import;
 * it throws if one of those is under EXCLUDED_DIRS.
 */
export function collectCode(projectDir: string): string[] {
  const dist = join(projectDir, 'dist');
  const queue: string[] = [];
  for (const dir of CODE_DIRS) {
    const src = join(projectDir, dir);
    if (!existsSync(src)) throw new Error(`${src} is missing: run \`npm run build\` first`);
    queue.push(...listFiles(src, (f) => f.endsWith('.js') && !f.endsWith('.test.js')).map((f) => join(src, f)));
  }
  if (!existsSync(join(projectDir, 'dist/helper/src/cli/main.js')))
    throw new Error('dist/helper/src/cli/main.js is missing: run `npm run build` first');
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    if (seen.size >= MAX_FILES) throw new Error(`the helper's code has more than ${MAX_FILES} modules`);
    seen.add(file);
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(dist + sep)) throw new Error(`${file} imports ${spec}, outside dist/`);
      if (!existsSync(target)) throw new Error(`${file} imports ${spec}, which is not built`);
      const excluded = EXCLUDED_DIRS.find((d) => target.startsWith(join(projectDir, d) + sep));
      if (excluded !== undefined) throw new Error(`${file} imports ${spec}, but the helper may not carry ${excluded}`);
      queue.push(target);
    }
  }
  return [...seen].map((f) => relative(projectDir, f)).sort();
}

/** dependencyClosure is every package the given files import, with their dependencies. */
export function dependencyClosure(projectDir: string, files: string[]): string[] {
  const wanted: string[] = [];
  for (const file of files) wanted.push(...bareImports(readFileSync(file, 'utf8')));
  const seen = new Set<string>();
  while (wanted.length > 0) {
    const name = wanted.pop()!;
    if (seen.has(name)) continue;
    if (seen.size >= MAX_PACKAGES) throw new Error(`the helper needs more than ${MAX_PACKAGES} packages; refusing`);
    const manifest = join(projectDir, 'node_modules', name, 'package.json');
    if (!existsSync(manifest))
      throw new Error(`the helper imports ${name}, which is not installed in ${projectDir}/node_modules`);
    seen.add(name);
    const deps = readJson(manifest).dependencies;
    if (deps !== null && typeof deps === 'object') wanted.push(...Object.keys(deps));
  }
  return [...seen].sort();
}

/** listFiles lists the files under dir (relative paths) that keep() accepts, bounded. */
export function listFiles(dir: string, keep: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (sub: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`${join(dir, sub)} is nested too deeply`);
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? e.name : join(sub, e.name);
      if (e.isDirectory()) walk(rel, depth + 1);
      else if (e.isFile() && keep(rel)) {
        out.push(rel);
        if (out.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} files under ${dir}`);
      }
    }
  };
  if (statSync(dir).isDirectory()) walk('', 0);
  return out.sort();
}

function readJson(path: string): Record<string, unknown> {
  const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${path} is not a JSON object`);
  return v as Record<string, unknown>;
}

function isBuiltin(name: string): boolean {
  return builtinModules.includes(name) || name === 'electron';
}
