// Validation of the installers' inputs, as far as this Linux machine can take it: the systemd
// unit (systemd-analyze, and its paths against the helper's), electron-builder.yml (its own
// JSON schema), the install scripts the config names (rendered as electron-builder renders
// them, bash -n, shellcheck), the property lists, the NSIS include (makensis), the files the
// config names, the release workflow against the config, and what the afterPack hook stages:
// the helper, run through the launcher, and the web UI, run by `warren ui` from the staged
// tree. Each check fails when the file it guards is broken; tools that are missing are
// reported as skips with the reason.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass } from 'ajv';
import { DEFAULT_SOCKET_PATH } from '../src-shared/wire/helper-api.js';
import { signIn } from '../src-main/web-ui/testing.js';
import { DEFAULT_STATE_DIR } from '../helper/src/cli/paths.js';
import { SERVICE_UNIT } from '../helper/src/cli/service.js';
import { DEFAULT_PROFILE_PATH } from '../helper/src/config/schema.js';
import { VERSION } from '../helper/src/version.js';
import { afterPack } from './after-pack.js';
import { importSpecifiers, listFiles, stageHelper } from './stage-helper.js';
import {
  BUILDER_MACRO,
  parsePlist,
  parseUnitFile,
  parseXml,
  renderBuilderScript,
  type PlistValue,
} from './validate.js';

const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const root = join(here, compiled ? '../..' : '..');
const require = createRequire(import.meta.url);
// js-yaml and ajv come with electron-builder (ajv is also a devDependency); js-yaml has no types.
const yaml = require('js-yaml') as { load(text: string): unknown };
const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };

const read = (rel: string): string => readFileSync(join(root, rel), 'utf8');
const config = yaml.load(read('electron-builder.yml')) as Record<string, unknown>;

/** at reads a dotted path out of parsed YAML or JSON. */
function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}
const str = (v: unknown, what: string): string => {
  assert.equal(typeof v, 'string', `${what} should be a string`);
  return v as string;
};

const productName = str(config.productName, 'productName');
const linuxExecutable = str(at(config, 'linux.executableName'), 'linux.executableName');
const linuxAppDir = `/opt/${productName}`;
const macos = (v: string): string => `/Applications/${productName}.app/Contents/${v}`;

function has(tool: string, args = ['--version']): boolean {
  return !spawnSync(tool, args, { stdio: 'ignore' }).error;
}

function skip(t: { skip(msg: string): void }, why: string): void {
  console.log(`skipping: ${why}`);
  t.skip(why);
}

test('systemd-analyze verify accepts the unit without a warning, and its exposure stays low', (t) => {
  if (!has('systemd-analyze')) return skip(t, 'systemd-analyze is missing (Debian package systemd)');
  const unitText = read('packaging/linux/warren-helper.service');
  const execStart = parseUnitFile(unitText).get('Service.ExecStart')?.[0] ?? '';
  const tmp = mkdtempSync(join(tmpdir(), 'warren-unit-'));
  try {
    // An offline root with the system's own units, the unit where after-install.sh puts it,
    // and an executable where the package puts the launcher.
    cpSync('/usr/lib/systemd/system', join(tmp, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(tmp, 'usr/lib/systemd/system', SERVICE_UNIT), unitText);
    const exe = join(tmp, execStart.split(' ')[0]!);
    mkdirSync(dirname(exe), { recursive: true });
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);

    const v = spawnSync('systemd-analyze', ['verify', `--root=${tmp}`, SERVICE_UNIT], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const said = `${v.stdout}${v.stderr}`.split('\n').filter((l) => l.includes('warren-helper'));
    assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
    assert.deepEqual(said, [], 'systemd-analyze has something to say about the unit');

    const s = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${tmp}`, SERVICE_UNIT], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const m = /Overall exposure level for warren-helper\.service: (\d+\.\d)/.exec(s.stdout);
    assert.ok(m !== null, `no exposure level in: ${s.stdout.slice(-500)}${s.stderr}`);
    assert.ok(Number(m[1]) <= 4.0, `exposure ${m[1]} is above 4.0: the hardening was weakened`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("the unit runs the packaged launcher with the helper's paths and keeps what the helper needs", () => {
  const unit = parseUnitFile(read('packaging/linux/warren-helper.service'));
  const one = (k: string): string | undefined => unit.get(k)?.at(-1);
  const all = (k: string): string => (unit.get(k) ?? []).join(' ');
  const cases: Array<[string, string | undefined, string]> = [
    [
      'ExecStart is the launcher the package installs',
      one('Service.ExecStart'),
      `${linuxAppDir}/resources/helper/warren run`,
    ],
    // systemd makes these folders for the helper, which does not create its parents.
    ["systemd makes the socket's folder", `/run/${one('Service.RuntimeDirectory')}`, dirname(DEFAULT_SOCKET_PATH)],
    ['systemd makes the state folder', `/var/lib/${one('Service.StateDirectory')}`, DEFAULT_STATE_DIR],
    [
      'the profiles are under ConfigurationDirectory',
      `/etc/${one('Service.ConfigurationDirectory')}`,
      dirname(dirname(DEFAULT_PROFILE_PATH)),
    ],
    ['socket where the app looks', all('Service.Environment').match(/WARREN_SOCKET=(\S+)/)?.[1], DEFAULT_SOCKET_PATH],
    [
      'state where warren cleanup looks',
      all('Service.Environment').match(/WARREN_STATE_DIR=(\S+)/)?.[1],
      DEFAULT_STATE_DIR,
    ],
    ['the default profile', all('Service.Environment').match(/WARREN_PROFILE=(\S+)/)?.[1], DEFAULT_PROFILE_PATH],
    ['waits for that profile', one('Unit.ConditionPathExists'), DEFAULT_PROFILE_PATH],
  ];
  for (const [what, got, want] of cases) assert.equal(got, want, what);
  const caps = all('Service.CapabilityBoundingSet').split(/\s+/);
  for (const cap of ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'])
    assert.ok(caps.includes(cap), `${cap} is kept`);
  assert.ok((unit.get('Service.DeviceAllow') ?? []).includes('/dev/net/tun rw'), '/dev/net/tun is allowed');
  // Settings that would break the helper: /proc/sys (exit node), V8's JIT, /dev/net/tun, /etc/resolv.conf.
  const forbidden: Array<[string, RegExp]> = [
    ['Service.ProtectKernelTunables', /^(yes|true|1)$/],
    ['Service.MemoryDenyWriteExecute', /^(yes|true|1)$/],
    ['Service.PrivateDevices', /^(yes|true|1)$/],
    ['Service.ProtectSystem', /^(full|strict)$/],
    ['Service.PrivateNetwork', /^(yes|true|1)$/],
  ];
  for (const [key, bad] of forbidden) assert.ok(!bad.test(one(key) ?? ''), `${key}=${one(key)} breaks the helper`);
});

// secondsOf reads a systemd time span as the unit writes it: "2s", "500ms", "1min", or bare seconds.
function secondsOf(v: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$/.exec(v ?? '');
  if (m === null) return NaN;
  const unit = m[2] ?? 's';
  return Number(m[1]) * (unit === 'ms' ? 0.001 : unit === 'min' || unit === 'm' ? 60 : 1);
}

test('systemd restarts a helper that was killed or crashed, soon and not forever', () => {
  // A killed helper (SIGKILL, OOM) leaves its kill switch and DNS in place until it runs again
  // (docs/install.md); systemd.service(5): on-failure restarts after an unclean signal or exit.
  const unit = parseUnitFile(read('packaging/linux/warren-helper.service'));
  const one = (k: string): string | undefined => unit.get(k)?.at(-1);
  assert.match(
    one('Service.Restart') ?? '',
    /^(on-failure|on-abnormal|always)$/,
    'Restart= brings a killed helper back',
  );
  const delay = secondsOf(one('Service.RestartSec'));
  assert.ok(delay >= 1 && delay <= 10, `RestartSec=${one('Service.RestartSec')}: between 1 s and 10 s`);
  for (const key of ['Service.SuccessExitStatus', 'Service.RestartPreventExitStatus'])
    assert.doesNotMatch(one(key) ?? '', /KILL|ABRT|SEGV|\b9\b/, `${key} must not count a kill as success`);
  // The start limit stops a profile that keeps failing, but lets a few restarts through first.
  const burst = Number(one('Unit.StartLimitBurst') ?? '5');
  const interval = secondsOf(one('Unit.StartLimitIntervalSec') ?? '10s');
  assert.ok(burst >= 3, `StartLimitBurst=${burst} allows at least 3 restarts`);
  assert.ok(burst * delay < interval, 'a helper that keeps failing is given up on within StartLimitIntervalSec');
  // Between restarts and after the last, the record beside the socket says what the killed helper
  // left; systemd would remove its directory with the stopped service (systemd.exec(5)).
  assert.equal(one('Service.RuntimeDirectoryPreserve'), 'yes', 'the socket directory outlives the helper');
});

test("electron-builder.yml is valid against electron-builder's own schema", () => {
  const schema = JSON.parse(read('node_modules/app-builder-lib/scheme.json')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(config), JSON.stringify(validate.errors, null, 1));
  // The schema is strict (no unknown keys), so a misspelt option is caught too.
  const typo = structuredClone(config);
  (typo.deb as Record<string, unknown>).afterInstal = 'packaging/linux/after-install.sh';
  assert.equal(validate(typo), false, 'a misspelt key must be refused');
});

test('the deb/rpm scripts the config names render as electron-builder renders them and pass bash -n and shellcheck', (t) => {
  const macros = { executable: linuxExecutable, sanitizedProductName: productName, productFilename: productName };
  const tmp = mkdtempSync(join(tmpdir(), 'warren-scripts-'));
  try {
    // electron-builder fills in its macros in afterInstall and afterRemove; fpm takes the
    // --before-remove script as it is.
    const rendered = new Set<string>();
    const verbatim = new Set<string>();
    for (const target of ['deb', 'rpm']) {
      rendered.add(str(at(config, `${target}.afterInstall`), `${target}.afterInstall`));
      rendered.add(str(at(config, `${target}.afterRemove`), `${target}.afterRemove`));
      const fpm = at(config, `${target}.fpm`) as string[];
      const i = fpm.indexOf('--before-remove');
      assert.ok(i >= 0 && fpm[i + 1] !== undefined, `${target}.fpm passes a --before-remove script`);
      verbatim.add(fpm[i + 1]!);
    }
    const scripts: Array<[string, string]> = [];
    for (const rel of rendered) {
      const text = renderBuilderScript(read(rel), macros);
      assert.match(text, new RegExp(`^app_dir='${linuxAppDir}'$`, 'm'), `${rel} works in ${linuxAppDir}`);
      scripts.push([rel, text]);
    }
    for (const rel of verbatim) {
      const text = read(rel);
      assert.deepEqual(
        [...text.matchAll(BUILDER_MACRO)].map((m) => m[0]),
        [],
        `${rel} gets no macros filled in`,
      );
      assert.match(text, new RegExp(`^app_dir=${linuxAppDir}$`, 'm'), `${rel} works in ${linuxAppDir}`);
      scripts.push([rel, text]);
    }
    for (const [rel, text] of scripts) {
      const name = rel.split('/').at(-1)!;
      assert.match(text, new RegExp(`^unit=${SERVICE_UNIT.replace('.', '\\.')}$`, 'm'), `${name} names the unit`);
      const file = join(tmp, name);
      writeFileSync(file, text);
      const n = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
      assert.equal(n.status, 0, `${name}: ${n.stderr}`);
    }
    // The launcher the afterPack hook stages, the macOS scripts the config ships and the pkg's.
    const macScripts = ((at(config, 'mac.extraResources') as Array<{ from: string }>) ?? [])
      .map((e) => e.from)
      .filter((f) => f.endsWith('.sh'));
    const pkgScripts = join(
      str(at(config, 'directories.buildResources'), 'directories.buildResources'),
      str(at(config, 'pkg.scripts'), 'pkg.scripts'),
    );
    const shellScripts = [
      'packaging/warren',
      ...macScripts,
      join(pkgScripts, 'preinstall'),
      join(pkgScripts, 'postinstall'),
    ];
    assert.ok(macScripts.length > 0, 'the mac build ships its daemon scripts');
    for (const rel of [...shellScripts, ...scripts.map(([r]) => r)]) {
      assert.ok((statSync(join(root, rel)).mode & 0o111) !== 0, `${rel} must be executable`);
    }
    for (const rel of shellScripts) {
      const n = spawnSync('sh', ['-n', join(root, rel)], { encoding: 'utf8' });
      assert.equal(n.status, 0, `${rel}: ${n.stderr}`);
    }
    if (!has('shellcheck')) return skip(t, 'shellcheck is missing; bash -n and sh -n passed');
    const files = [
      ...scripts.map(([rel]) => join(tmp, rel.split('/').at(-1)!)),
      ...shellScripts.map((rel) => join(root, rel)),
    ];
    const sc = spawnSync('shellcheck', ['--external-sources', ...files], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(sc.status, 0, sc.stdout);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the launchd plist and the entitlements the config names are well-formed property lists', () => {
  const plists = ((at(config, 'mac.extraResources') as Array<{ from: string }>) ?? [])
    .map((e) => e.from)
    .filter((f) => f.endsWith('.plist'));
  assert.equal(plists.length, 1, 'the mac build ships one launchd plist');
  const daemon = parsePlist(read(plists[0]!)) as Record<string, PlistValue>;
  // launchd takes the job's name from Label; install-daemon.sh copies ${label}.plist and the
  // scripts start and stop system/${label}: all must agree.
  assert.equal(`${String(daemon.Label)}.plist`, plists[0]!.split('/').at(-1));
  for (const rel of ((at(config, 'mac.extraResources') as Array<{ from: string }>) ?? [])
    .map((e) => e.from)
    .filter((f) => f.endsWith('.sh'))) {
    assert.match(
      read(rel),
      new RegExp(`^label=${String(daemon.Label).replace(/\./g, '\\.')}$`, 'm'),
      `${rel} names the job`,
    );
  }
  // The launcher where the afterPack hook stages it in the app the pkg installs.
  assert.deepEqual(daemon.ProgramArguments, [macos('Resources/helper/warren'), 'run']);
  const env = daemon.EnvironmentVariables as Record<string, PlistValue>;
  assert.match(String(env.WARREN_SOCKET), /^\/var\/run\/warren\//, 'macOS has no /run');
  for (const k of ['mac.entitlements', 'mac.entitlementsInherit']) {
    const ents = parsePlist(read(str(at(config, k), k))) as Record<string, PlistValue>;
    assert.equal(ents['com.apple.security.cs.allow-jit'], true, `${k}: V8 needs JIT under the hardened runtime`);
  }

  // The reader refuses what plutil would refuse.
  const bad: Array<[string, string]> = [
    ['unclosed', '<plist><dict><key>a</key><string>b</string></plist>'],
    ['crossed', '<plist><dict><key>a</key><string>b</dict></string></plist>'],
    ['two roots', '<plist><true/></plist><plist><true/></plist>'],
    ['bad entity', '<plist><string>a & b</string></plist>'],
    ['key without value', '<plist><dict><key>a</key></dict></plist>'],
    ['not a value', '<plist><thing/></plist>'],
  ];
  for (const [what, doc] of bad) assert.throws(() => parsePlist(doc), Error, what);
  assert.doesNotThrow(() => parseXml('<?xml version="1.0"?>\n<!-- c -->\n<a x="1"><b/>t &amp; u</a>\n'));
});

test('every file electron-builder.yml names exists', () => {
  const buildResources = str(at(config, 'directories.buildResources'), 'directories.buildResources');
  const exists: string[] = [];
  for (const list of ['linux.extraResources', 'mac.extraResources']) {
    for (const e of (at(config, list) as Array<{ from: string }>) ?? []) exists.push(e.from);
  }
  for (const k of [
    'deb.afterInstall',
    'deb.afterRemove',
    'rpm.afterInstall',
    'rpm.afterRemove',
    'mac.entitlements',
    'mac.entitlementsInherit',
    'nsis.include',
  ]) {
    exists.push(str(at(config, k), k));
  }
  for (const k of ['deb.fpm', 'rpm.fpm']) exists.push(...(at(config, k) as string[]).filter((a) => !a.startsWith('-')));
  const pkgScripts = join(buildResources, str(at(config, 'pkg.scripts'), 'pkg.scripts'));
  exists.push(join(pkgScripts, 'preinstall'), join(pkgScripts, 'postinstall'));
  for (const e of (config.extraResources as Array<{ from: string }>) ?? []) exists.push(e.from);
  for (const k of ['linux.icon', 'win.icon']) exists.push(str(at(config, k), k));
  exists.push('bin/warren', 'packaging/warren'); // staged by the afterPack hook
  for (const rel of exists)
    assert.ok(existsSync(join(root, rel)), `${rel} is named in electron-builder.yml but missing`);
});

test("npm run build makes what the config runs and packs, and app.asar takes the app's parts only", (t) => {
  // The `files` patterns, read with electron-builder's own matcher and options (fileMatcher.js).
  const { minimatch } = createRequire(require.resolve('app-builder-lib/package.json'))('minimatch') as {
    minimatch(path: string, pattern: string, opts: { dot: boolean }): boolean;
  };
  const files = config.files as string[];
  const packed = (rel: string): boolean =>
    files.some((p) => !p.startsWith('!') && minimatch(rel, p, { dot: true })) &&
    !files.some((p) => p.startsWith('!') && minimatch(rel, p.slice(1), { dot: true }));
  const main = str(at(config, 'extraMetadata.main'), 'extraMetadata.main');
  for (const rel of [
    'package.json',
    main,
    'dist/electron/preload.cjs',
    'dist/renderer/index.html',
    'dist/renderer/app.js',
  ]) {
    assert.ok(packed(rel), `app.asar must carry ${rel}`);
  }
  // The helper and the web UI are staged into resources/ by the afterPack hook instead.
  for (const rel of [
    'dist/helper/src/cli/main.js',
    'dist/web-ui/warren-ui.mjs',
    'dist/renderer/app.js.map',
    'node_modules/react/index.js',
  ]) {
    assert.ok(!packed(rel), `app.asar must not carry ${rel}`);
  }

  const built = [
    str(config.afterPack, 'afterPack'),
    'dist/renderer/index.html',
    'dist/renderer/app.js',
    'dist/web-ui/warren-ui.mjs',
  ];
  // scripts/build-ui.mjs builds the Electron shell where the electron package is installed.
  if (existsSync(join(root, 'node_modules/electron/package.json'))) built.push(main, 'dist/electron/preload.cjs');
  const missing = built.filter((rel) => !existsSync(join(root, rel)));
  if (missing.length > 0) {
    if (compiled) assert.fail(`npm run build did not make ${missing.join(', ')}`);
    return skip(t, `run \`npm run build\` first (missing ${missing.join(', ')})`);
  }
});

test('the bundled main process and preload import only electron, since app.asar carries no node_modules', (t) => {
  const bundles = ['dist/electron/main.mjs', 'dist/electron/preload.cjs'];
  if (!bundles.every((b) => existsSync(join(root, b)))) {
    return skip(
      t,
      'dist/electron is not built (scripts/build-ui.mjs builds it where the electron package is installed)',
    );
  }
  for (const b of bundles) {
    const left = importSpecifiers(read(b)).filter(
      (spec) => !spec.startsWith('node:') && spec !== 'electron' && !builtinModules.includes(spec),
    );
    assert.deepEqual(left, [], `${b} imports these at run time, but app.asar has no node_modules`);
  }
});

/** Staged is the deb's layout under a temporary root, filled by the afterPack hook. */
interface Staged {
  tmp: string;
  /** app is /opt/Warren: the stand-in app binary and resources/. */
  app: string;
  helperDir: string;
  webUiDir: string;
  /** launcher is a link to resources/helper/warren, as /usr/bin/warren is. */
  launcher: string;
}

const STAGE_INPUTS = [
  'dist/helper/src/cli/main.js',
  'dist/helper/src/daemon/index.js',
  'native/build/Release/warren_native.node',
  'dist/web-ui/warren-ui.mjs',
  'dist/renderer/index.html',
];
let staging: Promise<Staged> | null = null;
after(async () => {
  const s = await staging?.catch(() => null);
  if (s) rmSync(s.tmp, { recursive: true, force: true });
});

/** staged runs the afterPack hook once, as electron-builder would after packing the deb, or
 * returns null (after failing when compiled, or skipping) while the build is missing. */
async function staged(t: { skip(msg: string): void }): Promise<Staged | null> {
  const missing = STAGE_INPUTS.filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) {
    if (compiled) assert.fail(`missing after npm run build: ${missing.join(', ')}`);
    skip(t, `run \`npm run build\` first (missing ${missing.join(', ')})`);
    return null;
  }
  staging ??= (async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'warren-stage-'));
    // The layout of the deb: /opt/Warren/<executable> and /opt/Warren/resources/. The stand-in
    // app binary insists on Node mode, as Electron needs ELECTRON_RUN_AS_NODE=1.
    const app = join(tmp, linuxAppDir);
    mkdirSync(app, { recursive: true });
    writeFileSync(
      join(app, linuxExecutable),
      `#!/bin/sh\n[ "$ELECTRON_RUN_AS_NODE" = 1 ] || exit 99\nexec '${process.execPath}' "$@"\n`,
    );
    chmodSync(join(app, linuxExecutable), 0o755);
    await afterPack({
      appOutDir: app,
      electronPlatformName: 'linux',
      packager: { projectDir: root, getResourcesDir: (d) => join(d, 'resources') },
    });
    const helperDir = join(app, 'resources', 'helper');
    const launcher = join(tmp, 'warren');
    symlinkSync(join(helperDir, 'warren'), launcher);
    return { tmp, app, helperDir, webUiDir: join(app, 'resources', 'web-ui'), launcher };
  })();
  return staging;
}

/** cleanEnv is this environment without the variables that would point `warren ui` elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['WARREN_WEB_UI', 'WARREN_RENDERER_DIR', 'WARREN_SOCKET', 'DISPLAY', 'WAYLAND_DISPLAY', 'NODE_PATH'])
    delete env[k];
  return env;
}

test('the afterPack hook stages a helper without app, coordinator, relay or renderer code, and the web UI beside it', async (t) => {
  const s = await staged(t);
  if (s === null) return;
  assert.deepEqual(
    readdirSync(join(s.helperDir, 'dist')).sort(),
    ['helper', 'src-shared'],
    "the helper's compiled code only",
  );
  const appFiles = listFiles(
    s.helperDir,
    (f) => f.split(sep).includes('renderer') || (f.endsWith('.mjs') && !f.startsWith('node_modules')),
  );
  assert.deepEqual(appFiles, [], 'no renderer and no bundle in the helper');
  assert.deepEqual(
    listFiles(s.helperDir, (f) => f.endsWith('.test.js')),
    [],
    'no tests are shipped',
  );
  assert.ok(
    existsSync(join(s.helperDir, 'node_modules/dns-packet/package.json')),
    "the DNS server's package is staged",
  );
  const pkg = JSON.parse(readFileSync(join(s.helperDir, 'package.json'), 'utf8')) as { name?: string; type?: string };
  assert.deepEqual([pkg.name, pkg.type], ['warren', 'module']);

  const webUi = listFiles(s.webUiDir, () => true);
  const renderer = listFiles(join(root, 'dist/renderer'), (f) => !f.endsWith('.map')).map((f) => join('renderer', f));
  assert.deepEqual(webUi, ['warren-ui.mjs', ...renderer].sort(), 'the bundle and the renderer without source maps');
});

test('the staged helper runs through the launcher under the app binary in Node mode', async (t) => {
  const s = await staged(t);
  if (s === null) return;
  const v = spawnSync(s.launcher, ['version'], { encoding: 'utf8', timeout: 30_000, cwd: s.tmp });
  assert.deepEqual([v.status, v.stdout], [0, `warren ${VERSION}\n`], v.stderr);

  // Every command, the whole daemon and the native addon load from the staged tree alone.
  const probe = `const d = ${JSON.stringify(join(s.helperDir, 'dist'))};
    await import(d + '/helper/src/cli/cli.js');
    await import(d + '/helper/src/daemon/index.js');
    const { findAddon, loadAddon } = await import(d + '/src-shared/lib/native/load.js');
    loadAddon();
    console.log(findAddon(d + '/src-shared/lib/native'));`;
  const p = spawnSync(join(s.app, linuxExecutable), ['--input-type=module', '-e', probe], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: s.tmp,
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', NODE_PATH: '' },
  });
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stdout.trim(), join(s.helperDir, 'native/build/Release/warren_native.node'));
});

test('warren ui in the staged tree runs resources/web-ui, which serves its own renderer until SIGTERM', async (t) => {
  const s = await staged(t);
  if (s === null) return;
  // A mark only the staged renderer carries: the page must come from resources/web-ui/renderer.
  const index = join(s.webUiDir, 'renderer', 'index.html');
  writeFileSync(index, readFileSync(index, 'utf8') + '<!-- staged renderer -->\n');
  const socket = join(s.tmp, 'no-helper.sock');
  const ui = spawn(s.launcher, ['ui', '--no-open', '--socket', socket], {
    cwd: s.tmp,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  ui.stdout.on('data', (b: Buffer) => (out += b.toString()));
  ui.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((r) => ui.once('exit', (code) => r(code)));
  try {
    const oneTime = await waitFor(
      () => /http:\/\/127\.0\.0\.1:\d+\/open\?code=[A-Za-z0-9_-]{43}/.exec(out)?.[0],
      () => `no one-time address in: ${out}`,
    );
    const { appUrl: url, cookie } = await signIn(oneTime);
    const page = await fetch(url, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<!-- staged renderer -->/);
    assert.equal((await fetch(`${url}app.js`, { headers: { Cookie: cookie } })).status, 200);
    // The bundle's backend follows the helper's socket and says nothing answers there.
    const problem = await waitFor(
      async () => {
        const r = await fetch(`${url}api/call/getState`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Cookie: cookie },
          body: '{}',
        });
        const state = (await r.json()) as { ok: boolean; value: { problem: { code: string } | null } };
        return state.value.problem === null ? undefined : state.value.problem.code;
      },
      () => 'the window never reported the missing helper',
    );
    assert.equal(problem, 'helper-not-running');
    ui.kill('SIGTERM');
    assert.equal(await exit, 0, out);
  } finally {
    ui.kill('SIGKILL');
  }
});

test('warren ui with no web UI anywhere says the window is not installed here', async (t) => {
  const s = await staged(t);
  if (s === null) return;
  // The helper alone, as stageHelper leaves it: no resources/web-ui beside it.
  const bare = join(s.tmp, 'bare', 'resources', 'helper');
  stageHelper({ projectDir: root, helperDir: bare, platform: 'linux' });
  const r = spawnSync(process.execPath, [join(bare, 'bin', 'warren'), 'ui', '--no-open'], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: s.tmp,
    env: cleanEnv(),
  });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `warren ui: Warren's window is not installed here (looked for ${join(bare, 'dist/src-main/web-ui/main.js')} and ` +
      `${join(s.tmp, 'bare', 'resources', 'web-ui', 'warren-ui.mjs')}). Install the Warren app, which brings it, or run \`npm run build\` ` +
      'in a Warren checkout, or set WARREN_WEB_UI to the path of its entry.\n',
  );
});

/** waitFor polls get() until it returns a value, for up to 20 s. */
async function waitFor<T>(get: () => T | undefined | Promise<T | undefined>, why: () => string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the NSIS include the config names compiles with makensis, warnings as errors', (t) => {
  const include = str(at(config, 'nsis.include'), 'nsis.include');
  if (!has('makensis', ['-VERSION'])) return skip(t, 'makensis is missing (Debian package nsis)');
  const tmp = mkdtempSync(join(tmpdir(), 'warren-nsis-'));
  try {
    // A stand-in for electron-builder's installer: the hooks in the places it inserts them.
    writeFileSync(
      join(tmp, 'probe.nsi'),
      `Unicode true
!include LogicLib.nsh
!define APP_EXECUTABLE_FILENAME "${productName}.exe"
!macro _isUpdated _a _b _t _f
  StrCmp "" "" \`\${_f}\` \`\${_t}\`
!macroend
!define isUpdated \`"" isUpdated ""\`
!include "${join(root, include)}"
OutFile "probe.exe"
RequestExecutionLevel user
Function .onInit
  !insertmacro customInit
FunctionEnd
Section "install"
  !insertmacro customInstall
  WriteUninstaller "$TEMP\\probe-uninstall.exe"
SectionEnd
Function un.onInit
  !insertmacro customUnInit
FunctionEnd
Section "un.Uninstall"
  !insertmacro customUnInstall
SectionEnd
`,
    );
    const r = spawnSync('makensis', ['-V2', '-WX', 'probe.nsi'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the release workflow builds every installer the config defines, runs scripts that exist and signs only from secrets', () => {
  const wf = yaml.load(read('.github/workflows/release.yml')) as Record<string, unknown>;
  const job = at(wf, 'jobs.installers') as Record<string, unknown>;
  const steps = job.steps as Array<Record<string, unknown>>;
  const runs = steps.map((s) => String(s.run ?? '')).filter((r) => r !== '');
  const pkg = JSON.parse(read('package.json')) as {
    scripts: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  for (const m of runs.join('\n').matchAll(/\bnpm run (\S+)/g))
    assert.ok(pkg.scripts[m[1]!] !== undefined, `package.json has no script ${m[1]}`);
  const step = (prefix: string): number => runs.findIndex((r) => r.startsWith(prefix));
  assert.ok(
    step('npm ci') >= 0 &&
      step('npm ci') < step('npm run build') &&
      step('npm run build') < step('npx electron-builder '),
    'dependencies, then the build (dist/, the afterPack hook), then the installers',
  );
  const build = steps.find((s) => String(s.run ?? '').startsWith('npx electron-builder '));
  assert.ok(
    build !== undefined && pkg.devDependencies['electron-builder'] !== undefined,
    'a step runs the installed electron-builder',
  );

  // Each runner builds exactly the targets the config gives its platform, and uploads them.
  const platforms: Record<string, string> = { '--linux': 'linux', '--mac': 'mac', '--win': 'win' };
  const extension: Record<string, string> = {
    deb: 'deb',
    rpm: 'rpm',
    AppImage: 'AppImage',
    dmg: 'dmg',
    pkg: 'pkg',
    nsis: 'exe',
  };
  const uploaded = String(
    at(
      steps.find((s) => String(s.uses ?? '').startsWith('actions/upload-artifact@')),
      'with.path',
    ) ?? '',
  );
  const built = new Set<string>();
  for (const { args } of at(job, 'strategy.matrix.include') as Array<{ args: string }>) {
    const [flag, ...targets] = args.split(' ');
    const platform = platforms[flag!];
    assert.ok(platform !== undefined, `unknown platform flag in ${args}`);
    assert.deepEqual(
      targets.sort(),
      [...(at(config, `${platform}.target`) as string[])].sort(),
      `${args} builds ${platform}.target`,
    );
    built.add(platform);
    for (const target of targets)
      assert.ok(uploaded.includes(`release/*.${extension[target]}`), `the ${target} installer is uploaded`);
  }
  assert.deepEqual([...built].sort(), ['linux', 'mac', 'win']);
  for (const [name, value] of Object.entries(build.env as Record<string, string>)) {
    if (name === 'CSC_IDENTITY_AUTO_DISCOVERY') continue;
    assert.match(value, /^\$\{\{ .*secrets\.[A-Z_]+.* \}\}$/, `${name} comes from the repository's secrets`);
  }
});
