import { UsageError, type ExitCode, type Io } from '../io.ts';

export const monitorUsage = `warrant log monitor --url URL --origin ORIGIN --vkey VKEY [--once] [--interval SECONDS]
                                    follow any C2SP tlog-tiles log; exit 1 on a fork or rollback`;

export async function monitorCommand(_args: string[], _io: Io): Promise<ExitCode> {
  throw new UsageError('log monitor: not yet available');
}
