import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { countActiveExceptions } from '../policy/index.ts';
import type { Warrant } from '../intake/index.ts';

/**
 * warrant's Prometheus metrics. Correctness signals first: an invariant
 * violation counter whose healthy value is 0, and the exceptions in force
 * (explicit, never a habit), both read at scrape time from the source of truth.
 */
export interface Metrics {
  registry: Registry;
  invariantViolations: Counter;
}

export function createMetrics(warrant: Pick<Warrant, 'home' | 'keys' | 'ledger' | 'onInvariantViolation'>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'warrant_process_' });
  const invariantViolations = new Counter({
    name: 'warrant_invariant_violations_total',
    help: 'Invariant violations detected (a stored tree that does not recompute, a fork about to be signed, ...). Healthy: 0.',
    labelNames: ['invariant'],
    registers: [registry],
  });
  invariantViolations.inc({ invariant: 'ledger' }, 0);
  warrant.onInvariantViolation(() => invariantViolations.inc({ invariant: 'ledger' }));
  new Gauge({
    name: 'warrant_policy_exceptions_active',
    help: 'Signed policy exceptions in force now (verified, not expired).',
    registers: [registry],
    async collect() {
      this.set(await countActiveExceptions(warrant.home, warrant.keys, new Date()));
    },
  });
  new Gauge({
    name: 'warrant_log_size',
    help: 'Entries in the transparency log.',
    registers: [registry],
    async collect() {
      this.set(Number((await warrant.ledger.treeHead()).size));
    },
  });
  return { registry, invariantViolations };
}
