#!/usr/bin/env node
// Committed launcher for the `pifleet-agent` bin: npm links a workspace's bin only if the target
// exists at install time, and dist/ is built afterwards (root `prepare`).
import '../dist/main.js';
