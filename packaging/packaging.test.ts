// Validation of the installers' inputs, as far as this Linux machine can take it: the systemd
// unit (systemd-analyze), electron-builder.yml (its own JSON schema), the install scripts
// (rendered as electron-builder renders them, bash -n, shellcheck), the property lists, the
// NSIS include (makensis), the files the config names, and the staged helper, run through the
// launcher. Each check fails when the file it guards is broken; tools that are missing are
// reported as skips with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass } from 'ajv';
import { DEFAULT_SOCKET_PATH } from '../src-shared/wire/helper-api.js';
import { DEFAULT_STATE_DIR } from '../helper/src/cli/paths.js';
import { SERVICE_UNIT } from '../helper/src/cli/service.js';
import { DEFAULT_PROFILE_PATH } from '../helper/src/config/schema.js';
import { VERSION } from '../helper/src/version.js';
import { importSpecifiers, listFiles, stageHelper } from './stage-helper.js';
import { BUILDER_MACRO, parsePlist, parseUnitFile, parseXml, renderBuilderScript, type PlistValue } from './validate.js';

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

    const v = spawnSync('systemd-analyze', ['verify', `--root=${tmp}`, SERVICE_UNIT], { encoding: 'utf8', timeout: 60_000 });
    const said = `${v.stdout}${v.stderr}`.split('\n').filter((l) => l.includes('warren-helper'));
    assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
    assert.deepEqual(said, [], 'systemd-analyze has something to say about the unit');

    const s = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${tmp}`, SERVICE_UNIT], { encoding: 'utf8', timeout: 60_000 });
    const m = /Overall exposure level for warren-helper\.service: (\d+\.\d)/.exec(s.stdout);
    assert.ok(m !== null, `no exposure level in: ${s.stdout.slice(-500)}${s.stderr}`);
    assert.ok(Number(m[1]) <= 4.0, `exposure ${m[1]} is above 4.0: the hardening was weakened`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the unit runs the packaged launcher with the helper\'s paths and keeps what the helper needs', () => {
  const unit = parseUnitFile(read('packaging/linux/warren-helper.service'));
  const one = (k: string): string | undefined => unit.get(k)?.at(-1);
  const all = (k: string): string => (unit.get(k) ?? []).join(' ');
  const cases: Array<[string, string | undefined, string]> = [
    ['ExecStart is the launcher the package installs', one('Service.ExecStart'), `${linuxAppDir}/resources/helper/warren run`],
    ['restarts after a crash', one('Service.Restart'), 'on-failure'],
    ['SIGTERM lets the helper remove its routes, DNS and rules', one('Service.KillSignal'), 'SIGTERM'],
    ['/run/warren for the socket', one('Service.RuntimeDirectory'), 'warren'],
    ['/var/lib/warren for crash state', one('Service.StateDirectory'), 'warren'],
    ['/etc/warren for profiles', one('Service.ConfigurationDirectory'), 'warren'],
    ['socket where the app looks', all('Service.Environment').match(/WARREN_SOCKET=(\S+)/)?.[1], DEFAULT_SOCKET_PATH],
    ['state where warren cleanup looks', all('Service.Environment').match(/WARREN_STATE_DIR=(\S+)/)?.[1], DEFAULT_STATE_DIR],
    ['the default profile', all('Service.Environment').match(/WARREN_PROFILE=(\S+)/)?.[1], DEFAULT_PROFILE_PATH],
    ['waits for that profile', one('Unit.ConditionPathExists'), DEFAULT_PROFILE_PATH],
    ['starts at boot', one('Install.WantedBy'), 'multi-user.target'],
  ];
  for (const [what, got, want] of cases) assert.equal(got, want, what);
  const caps = all('Service.CapabilityBoundingSet').split(/\s+/);
  for (const cap of ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN']) assert.ok(caps.includes(cap), `${cap} is kept`);
  assert.ok((unit.get('Service.DeviceAllow') ?? []).includes('/dev/net/tun rw'), '/dev/net/tun is allowed');
  // Settings that would break the helper: /proc/sys (exit node), V8's JIT, /dev/net/tun, /etc/resolv.conf.
  const forbidden: Array<[string, RegExp]> = [
    ['Service.ProtectKernelTunables', /^(yes|true|1)$/], ['Service.MemoryDenyWriteExecute', /^(yes|true|1)$/],
    ['Service.PrivateDevices', /^(yes|true|1)$/], ['Service.ProtectSystem', /^(full|strict)$/], ['Service.PrivateNetwork', /^(yes|true|1)$/],
  ];
  for (const [key, bad] of forbidden) assert.ok(!bad.test(one(key) ?? ''), `${key}=${one(key)} breaks the helper`);
});

test('electron-builder.yml is valid against electron-builder\'s own schema', () => {
  const schema = JSON.parse(read('node_modules/app-builder-lib/scheme.json')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(config), JSON.stringify(validate.errors, null, 1));
  // The schema is strict (no unknown keys), so a misspelt option is caught too.
  const typo = structuredClone(config);
  (typo.deb as Record<string, unknown>).afterInstal = 'packaging/linux/after-install.sh';
  assert.equal(validate(typo), false, 'a misspelt key must be refused');
});

test('the deb/rpm scripts render as electron-builder renders them and pass bash -n and shellcheck', (t) => {
  const macros = { executable: linuxExecutable, sanitizedProductName: productName, productFilename: productName };
  const tmp = mkdtempSync(join(tmpdir(), 'warren-scripts-'));
  try {
    for (const target of ['deb', 'rpm']) {
      assert.equal(at(config, `${target}.afterInstall`), 'packaging/linux/after-install.sh', `${target}.afterInstall`);
      assert.equal(at(config, `${target}.afterRemove`), 'packaging/linux/after-remove.sh', `${target}.afterRemove`);
      assert.deepEqual(at(config, `${target}.fpm`), ['--before-remove', 'packaging/linux/before-remove.sh'], `${target}.fpm`);
    }
    const scripts: Array<[string, string]> = [];
    for (const name of ['after-install.sh', 'after-remove.sh']) {
      const rendered = renderBuilderScript(read(`packaging/linux/${name}`), macros);
      assert.match(rendered, new RegExp(`^app_dir='${linuxAppDir}'$`, 'm'), `${name} works in ${linuxAppDir}`);
      scripts.push([name, rendered]);
    }
    // fpm takes before-remove.sh as it is: no macro may be left for it to fill.
    const before = read('packaging/linux/before-remove.sh');
    assert.deepEqual([...before.matchAll(BUILDER_MACRO)].map((m) => m[0]), [], 'before-remove.sh gets no macros filled in');
    assert.match(before, new RegExp(`^app_dir=${linuxAppDir}$`, 'm'));
    scripts.push(['before-remove.sh', before]);
    for (const [name, text] of scripts) {
      assert.match(text, new RegExp(`^unit=${SERVICE_UNIT.replace('.', '\\.')}$`, 'm'), `${name} names the unit`);
      const file = join(tmp, name);
      writeFileSync(file, text);
      const n = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
      assert.equal(n.status, 0, `${name}: ${n.stderr}`);
    }
    const shellScripts = ['packaging/warren', 'packaging/macos/install-daemon.sh', 'packaging/macos/uninstall.sh',
      'packaging/macos/pkg-scripts/preinstall', 'packaging/macos/pkg-scripts/postinstall'];
    for (const rel of [...shellScripts, 'packaging/linux/after-install.sh', 'packaging/linux/after-remove.sh', 'packaging/linux/before-remove.sh']) {
      assert.ok((statSync(join(root, rel)).mode & 0o111) !== 0, `${rel} must be executable`);
    }
    for (const rel of shellScripts) {
      const n = spawnSync('sh', ['-n', join(root, rel)], { encoding: 'utf8' });
      assert.equal(n.status, 0, `${rel}: ${n.stderr}`);
    }
    if (!has('shellcheck')) return skip(t, 'shellcheck is missing; bash -n and sh -n passed');
    const files = [...scripts.map(([name]) => join(tmp, name)), ...shellScripts.map((rel) => join(root, rel))];
    const sc = spawnSync('shellcheck', ['--external-sources', ...files], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(sc.status, 0, sc.stdout);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the launchd plist and the entitlements are well-formed property lists', () => {
  const daemon = parsePlist(read('packaging/macos/com.warren.helper.plist')) as Record<string, PlistValue>;
  assert.equal(daemon.Label, 'com.warren.helper');
  assert.deepEqual(daemon.ProgramArguments, [macos('Resources/helper/warren'), 'run']);
  assert.deepEqual(daemon.KeepAlive, { SuccessfulExit: false }, 'restarted after a crash, not after a clean stop');
  const env = daemon.EnvironmentVariables as Record<string, PlistValue>;
  assert.match(String(env.WARREN_SOCKET), /^\/var\/run\/warren\//, 'macOS has no /run');
  const ents = parsePlist(read('packaging/macos/entitlements.mac.plist')) as Record<string, PlistValue>;
  assert.equal(ents['com.apple.security.cs.allow-jit'], true, 'V8 needs JIT under the hardened runtime');
  assert.equal(at(config, 'mac.entitlements'), 'packaging/macos/entitlements.mac.plist');
  assert.equal(at(config, 'mac.hardenedRuntime'), true);

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

test('every file electron-builder.yml names exists, or npm run build makes it', () => {
  const buildResources = str(at(config, 'directories.buildResources'), 'directories.buildResources');
  const exists: string[] = [];
  for (const list of ['linux.extraResources', 'mac.extraResources']) {
    for (const e of (at(config, list) as Array<{ from: string }>) ?? []) exists.push(e.from);
  }
  for (const k of ['deb.afterInstall', 'deb.afterRemove', 'rpm.afterInstall', 'rpm.afterRemove', 'mac.entitlements', 'mac.entitlementsInherit', 'nsis.include']) {
    exists.push(str(at(config, k), k));
  }
  for (const k of ['deb.fpm', 'rpm.fpm']) exists.push(...(at(config, k) as string[]).filter((a) => !a.startsWith('-')));
  const pkgScripts = join(buildResources, str(at(config, 'pkg.scripts'), 'pkg.scripts'));
  exists.push(join(pkgScripts, 'preinstall'), join(pkgScripts, 'postinstall'));
  for (const e of (config.extraResources as Array<{ from: string }>) ?? []) exists.push(e.from);
  for (const k of ['linux.icon', 'win.icon']) exists.push(str(at(config, k), k));
  exists.push('bin/warren', 'packaging/warren'); // staged by the afterPack hook
  for (const rel of exists) assert.ok(existsSync(join(root, rel)), `${rel} is named in electron-builder.yml but missing`);

  // Built by `npm run build` (tsc, then scripts/build-ui.mjs), each from a source that must exist.
  const built: Array<[string, string]> = [
    [str(config.afterPack, 'afterPack').replace(/^\.\//, ''), 'packaging/after-pack.ts'],
    [str(at(config, 'extraMetadata.main'), 'extraMetadata.main'), 'src-main/electron/main.ts'],
    ['dist/electron/**/*', 'src-main/electron/preload.ts'],
    ['dist/renderer/**/*', 'src-renderer'],
  ];
  for (const [out, src] of built) {
    assert.ok(existsSync(join(root, src)), `${out} is built from ${src}, which is missing`);
    console.log(`  built by npm run build: ${out} (from ${src})`);
  }
  const files = config.files as string[];
  for (const [out] of built.slice(2)) assert.ok(files.includes(out), `files should include ${out}`);
  assert.match(read('scripts/build-ui.mjs'), /dist', 'electron'|dist\/electron/, 'scripts/build-ui.mjs builds dist/electron');
  assert.ok(files.includes('!**/node_modules/**'), 'app.asar carries no node_modules');
});

test('the bundled main process and preload import only electron, since app.asar carries no node_modules', (t) => {
  const bundles = ['dist/electron/main.mjs', 'dist/electron/preload.cjs'];
  if (!bundles.every((b) => existsSync(join(root, b)))) {
    return skip(t, 'dist/electron is not built (scripts/build-ui.mjs builds it where the electron package is installed)');
  }
  for (const b of bundles) {
    const left = importSpecifiers(read(b)).filter((spec) => !spec.startsWith('node:') && spec !== 'electron' && !builtinModules.includes(spec));
    assert.deepEqual(left, [], `${b} imports these at run time, but app.asar has no node_modules`);
  }
});

test('the staged helper runs through the launcher under the app binary in Node mode', (t) => {
  const built = ['dist/helper/src/cli/main.js', 'dist/helper/src/daemon/index.js', 'native/build/Release/warren_native.node'];
  const missing = built.filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) {
    if (compiled) assert.fail(`missing after npm run build: ${missing.join(', ')}`);
    return skip(t, `run \`npm run build\` first (missing ${missing.join(', ')})`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'warren-stage-'));
  try {
    // The layout of the deb: /opt/Warren/<executable> and /opt/Warren/resources/helper. The
    // stand-in app binary insists on Node mode, as Electron needs ELECTRON_RUN_AS_NODE=1.
    const app = join(tmp, linuxAppDir);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, linuxExecutable), `#!/bin/sh\n[ "$ELECTRON_RUN_AS_NODE" = 1 ] || exit 99\nexec '${process.execPath}' "$@"\n`);
    chmodSync(join(app, linuxExecutable), 0o755);
    const helperDir = join(app, 'resources', 'helper');
    const r = stageHelper({ projectDir: root, helperDir, platform: 'linux' });
    assert.ok(r.packages.includes('dns-packet'), `the DNS server's package is staged: ${r.packages.join(', ')}`);
    const pkg = JSON.parse(readFileSync(join(helperDir, 'package.json'), 'utf8')) as { name?: string; type?: string };
    assert.deepEqual([pkg.name, pkg.type], ['warren', 'module']);
    assert.deepEqual(listFiles(helperDir, (f) => f.endsWith('.test.js')), [], 'no tests are shipped');

    // As /usr/bin/warren: a link to the launcher.
    symlinkSync(join(helperDir, 'warren'), join(tmp, 'warren'));
    const v = spawnSync(join(tmp, 'warren'), ['version'], { encoding: 'utf8', timeout: 30_000, cwd: tmp });
    assert.deepEqual([v.status, v.stdout], [0, `warren ${VERSION}\n`], v.stderr);

    // Every command, the whole daemon and the native addon load from the staged tree alone.
    const probe = `const d = ${JSON.stringify(join(helperDir, 'dist'))};
      await import(d + '/helper/src/cli/cli.js');
      await import(d + '/helper/src/daemon/index.js');
      const { findAddon, loadAddon } = await import(d + '/src-shared/lib/native/load.js');
      loadAddon();
      console.log(findAddon(d + '/src-shared/lib/native'));`;
    const p = spawnSync(join(app, linuxExecutable), ['--input-type=module', '-e', probe],
      { encoding: 'utf8', timeout: 30_000, cwd: tmp, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', NODE_PATH: '' } });
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout.trim(), join(helperDir, 'native/build/Release/warren_native.node'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the NSIS include compiles with makensis, warnings as errors', (t) => {
  assert.equal(at(config, 'nsis.include'), 'packaging/windows/installer.nsh');
  assert.equal(at(config, 'nsis.perMachine'), true, 'a Windows service needs a per-machine install');
  if (!has('makensis', ['-VERSION'])) return skip(t, 'makensis is missing (Debian package nsis)');
  const tmp = mkdtempSync(join(tmpdir(), 'warren-nsis-'));
  try {
    // A stand-in for electron-builder's installer: the hooks in the places it inserts them.
    writeFileSync(join(tmp, 'probe.nsi'), `Unicode true
!include LogicLib.nsh
!define APP_EXECUTABLE_FILENAME "${productName}.exe"
!macro _isUpdated _a _b _t _f
  StrCmp "" "" \`\${_f}\` \`\${_t}\`
!macroend
!define isUpdated \`"" isUpdated ""\`
!include "${join(root, 'packaging/windows/installer.nsh')}"
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
`);
    const r = spawnSync('makensis', ['-V2', '-WX', 'probe.nsi'], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the release workflow builds on all three OSes with signing only from secrets', () => {
  const wf = yaml.load(read('.github/workflows/release.yml')) as Record<string, unknown>;
  assert.deepEqual(at(wf, 'on.push.tags'), ['v*']);
  const job = at(wf, 'jobs.installers') as Record<string, unknown>;
  const oses = (at(job, 'strategy.matrix.include') as Array<{ os: string }>).map((m) => m.os);
  assert.deepEqual(oses, ['ubuntu-latest', 'macos-latest', 'windows-latest']);
  const steps = job.steps as Array<Record<string, unknown>>;
  const runs = steps.map((s) => String(s.run ?? ''));
  for (const cmd of ['npm ci', 'npm run build', 'npx electron-builder ${{ matrix.args }} --publish never']) {
    assert.ok(runs.includes(cmd), `a step runs ${cmd}`);
  }
  const build = steps.find((s) => String(s.run ?? '').startsWith('npx electron-builder'))!;
  for (const [name, value] of Object.entries(build.env as Record<string, string>)) {
    if (name === 'CSC_IDENTITY_AUTO_DISCOVERY') continue;
    assert.match(value, /^\$\{\{ .*secrets\.[A-Z_]+.* \}\}$/, `${name} comes from the repository's secrets`);
  }
  assert.ok(steps.some((s) => String(s.uses ?? '').startsWith('actions/upload-artifact@')), 'the installers are uploaded');
});
