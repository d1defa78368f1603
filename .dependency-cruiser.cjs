// Warren's rooms and who may import whom (docs/architecture.md, "Rooms"). `npm run lint`
// runs this with dependency-cruiser over the sources; scripts/boundaries.test.ts checks that
// it fails on a fixture tree that breaks each rule. Tests (*.test.ts), benchmarks (*.bench.ts),
// e2e/, scripts/ and packaging/ may import anything and are not checked here; test support
// files (fakes named x-fake.ts, harnesses) may import anything but production code may not
// import them.

const TEST_SUPPORT = '(^|/)(testing|test-support|testkit|fake-io|test-users)\\.ts$|-fake\\.ts$|(^|/)testing/';
const PROGRAMS = '^(helper|coordinator|relay|src-main|src-renderer|src-console)/';
const TOOLS = '^(e2e|scripts|packaging)/';

/** room builds a rule: modules under `from` may not import anything matching `to`. */
function room(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from, pathNot: TEST_SUPPORT }, to };
}

module.exports = {
  forbidden: [
    room(
      'wire-imports-only-wire',
      'src-shared/wire holds the contracts every process (the renderer too) compiles: it imports nothing but itself, not even node: modules',
      '^src-shared/wire/',
      { pathNot: '^src-shared/wire/' },
    ),
    room(
      'lib-is-a-leaf',
      'src-shared/lib is the leaf library: it may use the contracts, Node and npm packages, never a program or a tool',
      '^src-shared/lib/',
      { path: [PROGRAMS, TOOLS] },
    ),
    room('helper-stays-home', 'the helper imports only itself, the leaf library and the contracts', '^helper/', {
      path: ['^(coordinator|relay|src-main|src-renderer|src-console)/', TOOLS],
    }),
    room(
      'coordinator-stays-home',
      'the coordinator imports only itself, the leaf library, the contracts and the relay engine it embeds (relay/src/index.ts)',
      '^coordinator/',
      { path: ['^(helper|src-main|src-renderer|src-console)/', '^relay/', TOOLS], pathNot: '^relay/src/index\\.ts$' },
    ),
    room('relay-stays-home', 'warren-relay imports only itself, the leaf library and the contracts', '^relay/', {
      path: ['^(helper|coordinator|src-main|src-renderer|src-console)/', TOOLS],
    }),
    room(
      'app-main-stays-home',
      'src-main imports only itself, the leaf library (where the helper API client is) and the contracts',
      '^src-main/',
      { path: ['^(helper|coordinator|relay|src-renderer|src-console)/', TOOLS] },
    ),
    room(
      'renderer-uses-only-contracts',
      'the renderer runs in a sandboxed page: it imports only itself, the contracts and browser packages, never Node',
      '^src-renderer/',
      { path: ['^(helper|coordinator|relay|src-main|src-shared/lib|src-console)/', TOOLS] },
    ),
    room('renderer-has-no-node', 'the renderer runs in a sandboxed page without Node', '^src-renderer/', {
      dependencyTypes: ['core'],
    }),
    room(
      'console-uses-only-contracts',
      "the web console runs in the admin's browser: it imports only itself, the contracts and browser packages, never Node",
      '^src-console/',
      { path: ['^(helper|coordinator|relay|src-main|src-renderer|src-shared/lib)/', TOOLS] },
    ),
    room('console-has-no-node', "the web console runs in the admin's browser without Node", '^src-console/', {
      dependencyTypes: ['core'],
    }),
    {
      name: 'no-test-support-in-production',
      comment: 'test support (fakes, harnesses) never ships: production code may not import it',
      severity: 'error',
      from: { path: [PROGRAMS, '^src-shared/'], pathNot: TEST_SUPPORT },
      to: { path: TEST_SUPPORT },
    },
    {
      name: 'no-folder-cycle',
      comment: 'folders form a hierarchy: if a imports b, nothing in b (or below it) imports a back',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['(^|/)(node_modules|dist|build)/', '\\.(test|bench)\\.tsx?$'] },
    doNotFollow: { path: 'node_modules' },
  },
};
