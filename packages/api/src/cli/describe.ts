import type { ProjectionStatus, RebuildResult, VerifyResult } from '@im/projector';

const number = new Intl.NumberFormat('en-US');

export const describeVerify = (result: VerifyResult): string => {
  const { comparison } = result;
  const at = `at checkpoint ${result.checkpoint.position.transactionId}/${result.checkpoint.position.globalPosition}`;
  if (result.equal)
    return `equal: ${number.format(comparison.liveRows)} rows, ${number.format(result.events)} events ${at}\n`;
  const lines = [
    `DIFFERENT ${at}`,
    `  rows: live ${number.format(comparison.liveRows)}, rebuilt ${number.format(comparison.rebuiltRows)}`,
    `  rows only in live (or differing there): ${number.format(comparison.onlyInLive)}`,
    `  rows only in the rebuild (or differing there): ${number.format(comparison.onlyInRebuild)}`,
  ];
  if (comparison.driftedTotals > 0)
    lines.push(
      `  owners whose stored total unread differs from their rows: ${number.format(comparison.driftedTotals)}`,
    );
  if (result.rebuiltHandled !== result.checkpoint.handled)
    lines.push(
      `  events handled: live ${result.checkpoint.handled}, rebuilt ${result.rebuiltHandled}`,
    );
  for (const row of comparison.sample)
    lines.push(
      `  ${row.kind.padEnd(7)} owner=${row.owner} conversationID=${row.conversationID}${
        row.fields.length > 0 ? ` fields: ${row.fields.join(', ')}` : ''
      }`,
    );
  return `${lines.join('\n')}\n`;
};

export const describeStatus = (status: ProjectionStatus): string => {
  const position = (p: { transactionId: string; globalPosition: number } | undefined) =>
    p ? `tx ${p.transactionId}, position ${p.globalPosition}` : 'empty';
  const { checkpoint, lag, lease } = status;
  const lines = [
    `log head     ${position(status.head)} (${number.format(status.events)} events)`,
    `checkpoint   ${position(checkpoint.position)}, ${number.format(checkpoint.handled)} events handled${
      checkpoint.updatedAt ? `, updated ${checkpoint.updatedAt.toISOString()}` : ''
    }`,
    `lag          ${number.format(lag.events)} events, ${lag.seconds.toFixed(1)} s`,
    `projector    ${
      lease?.active
        ? `${lease.holder} (lease until ${lease.expiresAt.toISOString()})`
        : lease && lease.holder !== ''
          ? `none active (${lease.holder}'s lease expired ${lease.expiresAt.toISOString()})`
          : 'none active'
    }`,
  ];
  if (lag.withheld > 0) {
    const by = lag.heldBackBy;
    lines.push(
      `held back    ${number.format(lag.withheld)} committed events wait for an older append still running${
        by
          ? `: pid ${by.pid} in database ${by.database}, ${by.state}, running ${by.runningSeconds} s: ${by.query}`
          : ' that just ended'
      }`,
    );
  }
  return `${lines.join('\n')}\n`;
};

export const describeRebuild = (result: RebuildResult): string =>
  `rebuilt ${number.format(result.rows)} rows from ${number.format(result.events)} events in ${result.seconds.toFixed(1)} s (${number.format(result.eventsPerSecond)} events/s)\n`;
