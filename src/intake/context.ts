import { join } from 'node:path';
import { auditEntry, Ledger, loadOrCreateLogKey, type AuditEvent, type LogKey } from '../ledger/index.ts';
import { openStore, type NewEvidence, type Store } from '../store/index.ts';
import type { TrustedKeys } from '../evidence/index.ts';
import { EvidenceIntake } from './intake.ts';
import { loadTrustedKeys } from './trust.ts';

/** Everything a command or the server needs, opened from `$WARRANT_HOME` and `WARRANT_DB`. */
export interface Warrant {
  home: string;
  store: Store;
  ledger: Ledger<NewEvidence>;
  logKey: LogKey;
  keys: TrustedKeys;
  intake: EvidenceIntake;
  /** Subscribes to invariant violations the ledger detects (metrics count them). */
  onInvariantViolation(listener: (what: string) => void): void;
  /** Appends an audit event (who did what, when, with what result) to the log; resolves to its index. */
  audit(event: Omit<AuditEvent, 'time'> & { time?: string }): Promise<bigint>;
  close(): Promise<void>;
}

export function logKeyPath(home: string, env: NodeJS.ProcessEnv): string {
  return env.WARRANT_LOG_KEY || join(home, 'log', 'log.skey');
}

export async function openWarrant(home: string, env: NodeJS.ProcessEnv): Promise<Warrant> {
  const logKey = await loadOrCreateLogKey(logKeyPath(home, env), env.WARRANT_LOG_ORIGIN || undefined);
  const keys = await loadTrustedKeys(home);
  const store = await openStore({ url: env.WARRANT_DB, home });
  const violationListeners: ((what: string) => void)[] = [];
  const ledger = new Ledger<NewEvidence>(store, {
    origin: logKey.origin,
    signer: logKey.signer,
    verifier: logKey.verifier,
    onInvariantViolation: (what) => violationListeners.forEach((l) => l(what)),
  });
  const intake = new EvidenceIntake(ledger, keys, logKey);
  return {
    home,
    store,
    ledger,
    logKey,
    keys,
    intake,
    onInvariantViolation(listener) {
      violationListeners.push(listener);
    },
    async audit(event) {
      const outcome = await ledger.append(auditEntry({ time: new Date().toISOString(), ...event }));
      return outcome.index;
    },
    async close() {
      await ledger.close();
      await store.close();
    },
  };
}
