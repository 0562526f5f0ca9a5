import { type JetStreamManager, nanos, RetentionPolicy, StorageType } from 'nats';

export interface CallbackStreamOptions {
  name: string;
  /** Subjects root: callbacks go to `<prefix>.<userID>.<callback>`. */
  subjectPrefix: string;
  duplicateWindowMs: number;
  maxAgeMs: number;
  maxBytes: number;
}

/** Creates the callback stream, or updates it to the configured limits. */
export const ensureCallbackStream = async (
  jsm: JetStreamManager,
  options: CallbackStreamOptions,
) => {
  const config = {
    name: options.name,
    subjects: [`${options.subjectPrefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(options.duplicateWindowMs),
    max_age: nanos(options.maxAgeMs),
    max_bytes: options.maxBytes,
  };
  try {
    await jsm.streams.info(options.name);
    await jsm.streams.update(options.name, config);
  } catch (error) {
    if ((error as { code?: string }).code !== '404') throw error;
    await jsm.streams.add(config);
  }
};
