#!/usr/bin/env node
// Thin entry: everything lives in dist/cli/main.js (built from src/cli/main.ts).
import { installLastResort, main } from '../dist/cli/main.js';

installLastResort();
// Not a top-level await: if an internal error ever left main() unsettled, Node would exit 13, not 70.
main(process.argv).then((code) => {
  process.exitCode = code;
});
