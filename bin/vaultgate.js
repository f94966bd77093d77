#!/usr/bin/env node
// The `vaultgate` command: runs the compiled process entry point.
import '../dist/src/main.js';
