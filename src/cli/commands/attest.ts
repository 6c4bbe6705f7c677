import { basename } from 'node:path';
import {
  DEFAULT_LIMITS,
  attest as attestStatement,
  digestFile,
  importPrivateKey,
  parseBoundedJsonObject,
  parseDigest,
  type Subject,
} from '../../evidence/index.ts';
import { Exit, UsageError, parse, readInput, readPassphrase, writeFileAtomic, type ExitCode, type Io } from '../io.ts';

export const usage = `warrant attest --key KEY --predicate-type URI [--predicate FILE.json]
               (--subject FILE | --subject-digest NAME@sha256:HEX)... [--out BUNDLE.json]
  Signs an in-toto Statement about the subjects as a DSSE envelope in a Sigstore
  bundle v0.3. Without --out the bundle goes to standard output.`;

export async function attest(args: string[], io: Io): Promise<ExitCode> {
  const { values } = parse(args, {
    key: { type: 'string' },
    'predicate-type': { type: 'string' },
    predicate: { type: 'string' },
    subject: { type: 'string', multiple: true, default: [] },
    'subject-digest': { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
    'passphrase-file': { type: 'string' },
  });
  if (!values.key) throw new UsageError('attest needs --key KEY');
  if (!values['predicate-type']) throw new UsageError('attest needs --predicate-type URI');
  if (values.subject.length + values['subject-digest'].length === 0) {
    throw new UsageError('attest needs at least one --subject FILE or --subject-digest NAME@sha256:HEX');
  }
  const key = importPrivateKey(
    await readInput(values.key, 'key', 64 * 1024),
    await readPassphrase(io.env, values['passphrase-file']),
    `key ${values.key}`,
  );
  const predicate =
    values.predicate === undefined
      ? {}
      : parseBoundedJsonObject(
          await readInput(values.predicate, 'predicate', DEFAULT_LIMITS.maxPayloadBytes),
          `predicate ${values.predicate}`,
        );
  const subjects: Subject[] = [];
  for (const file of values.subject) {
    const d = await digestFile(file, 'sha256', DEFAULT_LIMITS.maxArtifactBytes).catch((err: Error) => {
      throw new UsageError(`cannot read subject ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
    subjects.push({ name: basename(file), digest: { [d.algorithm]: d.hex } });
  }
  for (const spec of values['subject-digest']) subjects.push(parseSubjectDigest(spec));

  const { bundle, statement } = attestStatement({
    key,
    subjects,
    predicateType: values['predicate-type'],
    predicate,
  });
  const text = JSON.stringify(bundle, null, 2) + '\n';
  if (values.out) {
    await writeFileAtomic(values.out, text);
    io.err(`signed ${statement.subject.length} subject(s) with key ${key.keyId} -> ${values.out}`);
  } else {
    io.out(text.trimEnd());
  }
  return Exit.OK;
}

/** NAME@sha256:HEX, where NAME may itself contain '@' (an image reference, say). */
export function parseSubjectDigest(spec: string): Subject {
  const at = spec.search(/@sha(256|512):[^@]*$/);
  if (at <= 0) throw new UsageError(`--subject-digest "${spec}" must be NAME@sha256:HEX`);
  try {
    const d = parseDigest(spec.slice(at + 1));
    return { name: spec.slice(0, at), digest: { [d.algorithm]: d.hex } };
  } catch (err) {
    throw new UsageError(`--subject-digest "${spec}": ${(err as Error).message}`);
  }
}
