#!/usr/bin/env node
// Thin entry: everything lives in dist/cli.js (built from src/cli.ts).
import { installLastResort, main } from '../dist/cli.js';

installLastResort();
// Not a top-level await: if an internal error ever left main() unsettled, Node would exit 13, not 70.
main(process.argv).then((code) => {
  process.exitCode = code;
});
