#!/usr/bin/env node
// Runs the compiled CLI (dist/src/cli/main.js) when built, else the TypeScript source via ts-node
// (also when SHARDPLAN_FROM_SOURCE=1, so a stale build cannot hide source changes).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');

let cli;
if (existsSync(compiled) && process.env.SHARDPLAN_FROM_SOURCE !== '1') {
  cli = require(compiled);
} else {
  require('ts-node').register({
    transpileOnly: true,
    project: join(root, 'tsconfig.json'),
    compilerOptions: { module: 'commonjs' },
  });
  cli = require(join(root, 'src', 'cli', 'main.ts'));
}

cli.main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    process.stderr.write(`shardplan: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 3;
  },
);
