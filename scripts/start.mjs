#!/usr/bin/env node
// `npm start`: opens the Electron app where it can run, and the browser fallback elsewhere.
// Filled in by the app work (issue 6).
console.error('npm start: the app is not built yet');
process.exit(1);
