import { InputError, VerificationError } from '../evidence/index.ts';
import { LedgerError, ProofError } from '../ledger/index.ts';
import { StoreError } from '../store/index.ts';
import * as attest from './commands/attest.ts';
import * as demo from './commands/demo.ts';
import * as digest from './commands/digest.ts';
import * as evidence from './commands/evidence.ts';
import * as keygen from './commands/keygen.ts';
import * as log from './commands/log.ts';
import * as policy from './commands/policy.ts';
import * as serve from './commands/serve.ts';
import * as trust from './commands/trust.ts';
import * as trustedRoot from './commands/trusted-root.ts';
import * as verify from './commands/verify.ts';
import { Exit, LimitError, UsageError, processIo, type ExitCode, type Io } from './io.ts';

interface Command {
  usage: string;
  run(args: string[], io: Io): Promise<ExitCode>;
}

const COMMANDS: Record<string, Command> = {
  demo: { usage: demo.usage, run: demo.demo },
  keygen: { usage: keygen.usage, run: keygen.keygen },
  attest: { usage: attest.usage, run: attest.attest },
  verify: { usage: verify.usage, run: verify.verify },
  digest: { usage: digest.usage, run: digest.digest },
  trust: { usage: trust.usage, run: trust.trust },
  evidence: { usage: evidence.usage, run: evidence.evidence },
  log: { usage: log.usage, run: log.log },
  policy: { usage: policy.usage, run: policy.policy },
  'trusted-root': { usage: trustedRoot.usage, run: trustedRoot.trustedRoot },
  serve: { usage: serve.usage, run: serve.serve },
};

const HELP = `warrant: nothing is deployed, and nothing runs, without a warrant.

Usage: warrant <command> [options]

${Object.values(COMMANDS)
  .map((c) => c.usage)
  .join('\n\n')}

Environment: WARRANT_HOME (default ./.warrant), WARRANT_DB (postgres://... or sqlite:PATH),
WARRANT_KEY_PASSPHRASE. Exit codes: 0 ok, 1 denied or invalid, 2 usage or bad input, 3 indeterminate.`;

export async function main(argv: string[], io: Io = processIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(HELP);
    return name === undefined ? Exit.USAGE : Exit.OK;
  }
  if (name === '--version') {
    const { WARRANT_VERSION } = await import('../version.ts');
    io.out(WARRANT_VERSION);
    return Exit.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`warrant: unknown command "${name}"; see warrant --help`);
    return Exit.USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(command.usage);
    return Exit.OK;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    return reportError(err, io);
  }
}

/** Every error becomes one line and an exit code; a stack trace is never the interface. */
function reportError(err: unknown, io: Io): ExitCode {
  if (err instanceof LimitError) {
    io.err(`warrant: LIMIT_EXCEEDED: ${err.message}`);
    return Exit.USAGE;
  }
  if (err instanceof UsageError) {
    io.err(`warrant: ${err.message}`);
    return Exit.USAGE;
  }
  if (err instanceof InputError || err instanceof VerificationError) {
    io.err(`warrant: ${err.code}: ${err.message}`);
    return Exit.USAGE;
  }
  if (err instanceof ProofError || (err instanceof LedgerError && err.code === 'INVARIANT_VIOLATION')) {
    io.err(`FAIL ${err.code}: ${err.message}`);
    return Exit.DENIED;
  }
  if (err instanceof LedgerError) {
    io.err(`warrant: ${err.code}: ${err.message}`);
    return Exit.USAGE;
  }
  if (err instanceof StoreError) {
    io.err(`warrant: ${err.code}: ${err.message}`);
    return err.code === 'STORE_UNAVAILABLE' ? Exit.INDETERMINATE : Exit.USAGE;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    io.err(`warrant: ${e.code}: ${e.message}`);
    return Exit.USAGE;
  }
  io.err(`warrant: internal error: ${e?.stack ?? String(err)}`);
  return Exit.INDETERMINATE;
}
