#!/usr/bin/env node
// Builds the renderer bundle (src-renderer) for the Electron app and the browser fallback.
// Filled in by the app work (issue 6); until then there is nothing to bundle.
console.log('build-ui: no renderer yet');
