import { describe, expect, it } from 'vitest';
import { createCallbackOrder, type ReceivedCallback } from './callback-order.ts';

const callback = (
  version: number,
  name: ReceivedCallback['name'] = 'OnConversationChanged',
  data: unknown = [],
): ReceivedCallback => ({
  userID: 'ann',
  name,
  version,
  data,
  msgID: `ann.${version}.${name}${(data as { conversationGroupID?: string }).conversationGroupID ?? ''}`,
});

describe('a gateway’s order of callbacks (docs/gateway-guide.md)', () => {
  it('drops a callback seen before and one older than the last applied on its line', () => {
    const order = createCallbackOrder();
    expect(order.accept(callback(5))).toBe(true);
    expect(order.accept(callback(5))).toBe(false);
    expect(order.accept(callback(3, 'OnNewConversation'))).toBe(false);
    expect(order.accept(callback(4, 'OnTotalUnreadMessageCountChanged', 2))).toBe(true);
    expect(order.accept(callback(7))).toBe(true);
    expect(order.versionOf('ann')).toBe(7);
  });

  it('orders each conversation group apart: one change may move several at one version', () => {
    const order = createCallbackOrder();
    const group = (version: number, id: string) =>
      callback(version, 'OnConversationGroupChanged', { conversationGroupID: id });
    expect(order.accept(group(9, 'a'))).toBe(true);
    expect(order.accept(group(9, 'b'))).toBe(true);
    expect(order.accept(group(8, 'b'))).toBe(false);
  });

  it('takes nothing up to a sync answer’s version, and forgets a user untracked', () => {
    const order = createCallbackOrder();
    order.resynced('ann', 10);
    expect(order.accept(callback(10))).toBe(false);
    expect(order.accept(callback(11))).toBe(true);
    order.forget('ann');
    expect(order.versionOf('ann')).toBeUndefined();
    expect(order.accept(callback(11))).toBe(true);
  });
});
