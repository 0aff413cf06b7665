#!/usr/bin/env node
// Committed launcher for the `pifleet` bin. npm links a workspace's bin into node_modules/.bin
// only if the target file exists at install time, and dist/ is built afterwards (root `prepare`),
// so pointing bin at dist/main.js leaves `npx pifleet` unlinked on a fresh `npm ci` (npx then
// looks for a registry package of that name instead).
import '../dist/main.js';
