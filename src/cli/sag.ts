#!/usr/bin/env node
import { runCli } from './cli';

/** `sag`, the admin CLI (SPEC §16): the package's bin. */
runCli(process.argv.slice(2), process.env, {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
  errIsTty: process.stderr.isTTY === true,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sag: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
