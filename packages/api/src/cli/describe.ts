import type { ProjectionStatus, RebuildResult, VerifyResult } from '@im/projector';

const number = new Intl.NumberFormat('en-US');

/** 0–3, 5, 7–8: partitions as ranges. */
const ranges = (ids: readonly number[]): string => {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && (ids[j + 1] as number) === (ids[j] as number) + 1) j++;
    parts.push(j > i ? `${ids[i]}–${ids[j]}` : `${ids[i]}`);
    i = j;
  }
  return parts.join(', ');
};

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
  if (result.differingCheckpoints.length > 0)
    lines.push(
      `  partitions whose checkpoint is not where the rebuild's events end: ${ranges(result.differingCheckpoints)}`,
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
  const { checkpoint, lag } = status;
  const lines = [
    `log head     ${position(status.head)} (${number.format(status.events)} events)`,
    `partitions   ${status.partitions}`,
    `checkpoint   ${position(checkpoint.position)}, ${number.format(checkpoint.handled)} events handled${
      checkpoint.updatedAt ? `, updated ${checkpoint.updatedAt.toISOString()}` : ''
    } (partition ${checkpoint.partition}, the furthest behind)`,
    `lag          ${number.format(lag.events)} events, ${lag.seconds.toFixed(1)} s`,
  ];
  for (const holder of status.holders)
    lines.push(
      `projector    ${holder.holder} holds ${ranges(holder.partitions)} (leases until ${holder.expiresAt.toISOString()})`,
    );
  if (status.unheld.length > 0)
    lines.push(
      `projector    none active for ${status.unheld.length === status.partitions ? 'any partition' : ranges(status.unheld)}`,
    );
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
  `rebuilt ${number.format(result.rows)} rows from ${number.format(result.events)} events in ${result.seconds.toFixed(1)} s (${number.format(result.eventsPerSecond)} events/s), ${result.partitions} partitions\n`;
