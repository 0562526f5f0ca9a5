import type { NatsConnection } from 'nats';

/** JetStream's error code for a stream that is not there. */
const STREAM_NOT_FOUND = 10059;

/**
 * Deletes a test's callback stream: the shared NATS keeps streams across runs, so every test
 * that makes one removes it. One already gone is fine; any other failure (NATS away) is not.
 */
export const deleteStream = async (nc: NatsConnection, name: string): Promise<void> => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(name).catch((error: { api_error?: { err_code?: number } }) => {
    if (error.api_error?.err_code !== STREAM_NOT_FOUND) throw error;
  });
};
