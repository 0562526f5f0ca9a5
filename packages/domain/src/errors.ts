/** A failure the caller can act on: the code follows the NATS services convention of SPEC §4. */
export interface DomainError {
  code: 400 | 404 | 409 | 413;
  /** A sentence naming the field and the problem. */
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: DomainError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: DomainError['code'], message: string): Result<never> => ({
  ok: false,
  error: { code, message },
});

export const unknownConversation = (owner: string, conversationID: string): Result<never> =>
  fail(404, `conversationID: ${owner} has no conversation ${conversationID}`);
