/**
 * The `sluice` entry point (bin/sluice.js loads this file through tsx). Parses argv, runs the
 * command, and turns errors into messages and exit codes:
 *   0  success
 *   1  the command failed (a SluiceError: port in use, service down, ...)
 *   2  bad usage or configuration (unknown option, invalid port: a ConfigError)
 * Stack traces are printed only with --verbose, or for errors that are bugs (not SluiceErrors).
 */
import { CommanderError } from 'commander';
import { ConfigError, isSluiceError } from '../core/errors';
import { buildProgram } from './program';

// The AWS SDK warns on every run that its releases after January 2027 need Node 22; sluice
// pins the SDK version (package-lock) for Node 20, so the warning is noise on a CLI's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (error) {
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true || argv.includes('--verbose');
    return reportError(error, verbose);
  }
}

function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed the help, version or usage error
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help'
      ? EXIT_OK
      : EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    console.error(`sluice: invalid configuration: ${error.message}`);
    if (verbose) console.error(error.stack);
    return EXIT_USAGE;
  }
  if (isSluiceError(error)) {
    console.error(`sluice: ${error.code}: ${error.message}`);
    if (verbose) console.error(error.stack);
    return EXIT_FAILED;
  }
  // not a SluiceError: a bug, so the stack is what the reader needs
  console.error('sluice: unexpected error:', error);
  return EXIT_FAILED;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A command that leaked a socket or timer must not keep the CLI alive after it finished.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    console.error('sluice: unexpected error:', error);
    process.exit(EXIT_FAILED);
  },
);
