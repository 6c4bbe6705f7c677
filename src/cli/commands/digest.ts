import { DEFAULT_LIMITS, digestFile, formatDigest } from '../../evidence/index.ts';
import { Exit, UsageError, parse, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant digest [--alg sha256|sha512] FILE...
  Prints each file's digest as ALG:HEX followed by its path.`;

export async function digest(args: string[], io: Io): Promise<ExitCode> {
  const { values, positionals } = parse(args, { alg: { type: 'string', default: 'sha256' } }, true);
  if (values.alg !== 'sha256' && values.alg !== 'sha512') throw new UsageError('--alg must be sha256 or sha512');
  if (positionals.length === 0) throw new UsageError('digest needs at least one FILE');
  for (const file of positionals) {
    const d = await digestFile(file, values.alg, DEFAULT_LIMITS.maxArtifactBytes).catch((err: Error) => {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
    io.out(`${formatDigest(d)}  ${file}`);
  }
  return Exit.OK;
}
