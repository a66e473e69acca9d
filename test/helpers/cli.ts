// Runs CLI commands in-process: an io that captures what a command writes to stdout and stderr.
import type { CliIO } from '../../src/cli/main.js';

/** A quiet CliIO whose output and error text the test reads back. */
export function captureIO(): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stream = (f: (s: string) => void) =>
    ({
      write: (s: string) => {
        f(s);
        return true;
      },
      isTTY: false,
    }) as unknown as NodeJS.WriteStream;
  return {
    io: {
      out: stream((s) => {
        out += s;
      }),
      err: stream((s) => {
        err += s;
      }),
      quiet: true,
    },
    out: () => out,
    err: () => err,
  };
}
