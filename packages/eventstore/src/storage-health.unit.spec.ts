import { describe, expect, it } from 'vitest';
import { createStorageHealth, isConnectionFailure, StorageUnavailable } from './storage-health.ts';

const coded = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('telling PostgreSQL’s absence from a refused statement', () => {
  it.each([
    ['a refused connection', coded('ECONNREFUSED')],
    ['a reset connection', coded('ECONNRESET')],
    [
      'the server shutting down',
      coded('57P01', 'terminating connection due to administrator command'),
    ],
    ['the server starting up', coded('57P03', 'the database system is starting up')],
    ['a broken connection', coded('08006')],
    ['a connection pg saw end', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
  ])('%s is a connection failure', (_, error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  it.each([
    ['a unique violation', coded('23505', 'duplicate key value violates unique constraint')],
    ['a syntax error', coded('42601')],
    ['a plain error', new Error('something else')],
    ['nothing', undefined],
  ])('%s is not', (_, error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});

describe('the storage health', () => {
  it('goes down when a connection cannot be made and up at the next answer, telling each once', () => {
    const guard = createStorageHealth();
    const changes: boolean[] = [];
    guard.health.onChange((available) => changes.push(available));

    const failure = guard.failed(coded('ECONNREFUSED'), { connecting: true });
    expect(failure).toBeInstanceOf(StorageUnavailable);
    expect(guard.failed(coded('ECONNREFUSED'), { connecting: true })).toBeInstanceOf(
      StorageUnavailable,
    );
    expect(guard.health.available()).toBe(false);
    expect(guard.health.downSince()).toEqual(expect.any(Number));
    guard.succeeded('rows');
    guard.succeeded('rows');
    expect(changes).toEqual([false, true]);
    expect(guard.health.available()).toBe(true);
  });

  it('a statement on a connection lost earlier fails as unavailable, but does not begin a new outage', () => {
    const guard = createStorageHealth();
    const changes: boolean[] = [];
    guard.health.onChange((available) => changes.push(available));
    const error = guard.failed(new Error('Connection terminated unexpectedly'), {
      connecting: false,
    });
    expect(error).toBeInstanceOf(StorageUnavailable);
    expect(changes).toEqual([]);
  });

  it('a refused statement passes through as it is, and counts as the server answering', () => {
    const guard = createStorageHealth();
    const changes: boolean[] = [];
    guard.health.onChange((available) => changes.push(available));
    guard.failed(coded('ECONNREFUSED'), { connecting: true });
    const refused = coded('23505');
    expect(guard.failed(refused, { connecting: false })).toBe(refused);
    expect(changes).toEqual([false, true]);
  });
});
