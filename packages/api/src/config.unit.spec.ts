import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectorThreads, readReplicaUrls } from './config.ts';

describe('configuration', () => {
  it('projects on one thread beside a PostgreSQL on this machine, on every core beside a remote one, as told when told', () => {
    const threads = (env: Record<string, string>) => projectorThreads(loadConfig(env));
    expect(threads({})).toBe(1);
    for (const url of [
      'postgres://postgres@127.0.0.1:5432/db',
      'postgres://postgres@localhost/db',
      'postgres://postgres@[::1]:5432/db',
      'postgres://postgres@%2Fvar%2Frun%2Fpostgresql/db',
      'postgres:///db?host=/tmp',
    ])
      expect(threads({ DATABASE_URL: url }), url).toBe(1);
    expect(threads({ DATABASE_URL: 'postgres://postgres@db.internal:5432/db' })).toBe(
      availableParallelism(),
    );
    expect(
      threads({ DATABASE_URL: 'postgres://postgres@127.0.0.1/db', PROJECTOR_THREADS: '3' }),
    ).toBe(3);
    expect(() => loadConfig({ PROJECTOR_THREADS: '0' })).toThrow(/PROJECTOR_THREADS/);
  });

  it('reads the replicas from a comma-separated DATABASE_READ_URL, none when unset', () => {
    expect(readReplicaUrls(loadConfig({}))).toEqual([]);
    expect(
      readReplicaUrls(
        loadConfig({ DATABASE_READ_URL: 'postgres://a:5433/db, postgres://b:5434/db' }),
      ),
    ).toEqual(['postgres://a:5433/db', 'postgres://b:5434/db']);
  });
});
