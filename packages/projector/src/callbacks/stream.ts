import {
  DiscardPolicy,
  type JetStreamManager,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from 'nats';

export interface CallbackStreamOptions {
  name: string;
  /** Subjects root: callbacks go to `<prefix>.<userID>.<callback>`. */
  subjectPrefix: string;
  duplicateWindowMs: number;
  maxAgeMs: number;
  maxBytes: number;
  /** Callbacks kept per subject (one user's one callback name): the newest go on, the oldest go. */
  maxMsgsPerSubject: number;
  /** Copies of the stream in a JetStream cluster (1 on a single server; 3 survives one node lost). */
  replicas?: number;
}

/**
 * Creates the callback stream, or updates an existing one to the configured subjects and limits,
 * and answers what the server now holds. Limits drop the oldest callbacks first; a gateway that
 * fell further behind than the stream keeps resyncs (docs/gateway-guide.md).
 */
export const ensureCallbackStream = async (
  jsm: JetStreamManager,
  options: CallbackStreamOptions,
): Promise<StreamInfo> => {
  const config = {
    subjects: [`${options.subjectPrefix}.>`],
    discard: DiscardPolicy.Old,
    // The server refuses a duplicate window longer than the messages are kept.
    duplicate_window: nanos(Math.min(options.duplicateWindowMs, options.maxAgeMs)),
    max_age: nanos(options.maxAgeMs),
    max_bytes: options.maxBytes,
    // NATS 2.9 drops a message at the stream's byte or age limit slowly when subjects hold many
    // (it looks for each subject's next one): the per-subject limit keeps the busy users' subjects
    // short, where dropping is cheap.
    max_msgs_per_subject: options.maxMsgsPerSubject,
    num_replicas: options.replicas ?? 1,
  };
  const existing = await jsm.streams.info(options.name).catch((error) => {
    if ((error as { code?: string }).code === '404') return undefined;
    throw error;
  });
  if (!existing) {
    return jsm.streams.add({
      name: options.name,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      ...config,
    });
  }
  if (existing.config.storage !== StorageType.File) {
    throw new Error(
      `stream ${options.name} keeps its messages in ${existing.config.storage}, not in files; delete it or choose another STREAM_NAME`,
    );
  }
  return jsm.streams.update(options.name, config);
};
