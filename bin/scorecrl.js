#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// Output piped into a reader that stops early (`scorecrl fit ... | head`):
// end quietly instead of crashing on the closed pipe.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv);
