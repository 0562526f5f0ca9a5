/** The figures of issues 6, 12 and 13, in the order the table shows them, with their units and goals. */
export const FIGURES = {
  raw_insert_tps: { unit: 'tx/s' },
  nats_echo_p99_ms: { unit: 'ms' },
  commands_per_s: { unit: 'commands/s' },
  commands_vs_raw_insert: { unit: 'ratio', goal: { atLeast: 0.5 } },
  messages_per_s: { unit: 'messages/s' },
  messages_vs_raw_insert: { unit: 'ratio', goal: { atLeast: 0.5 } },
  list_p99_ms_1k: { unit: 'ms', goal: { atMost: 15 } },
  page_p99_ms_100k: { unit: 'ms', goal: { atMost: 5 } },
  page_p99_ratio_100k_vs_100: { unit: 'ratio', goal: { atMost: 1.5 } },
  callback_p99_ms: { unit: 'ms', goal: { atMost: 50 } },
  group_fanout_ms_10k: { unit: 'ms', goal: { atMost: 1000 } },
  group_message_ms_10k_vs_2: { unit: 'ratio', goal: { atMost: 2 } },
  group_projection_ms_10k: { unit: 'ms', goal: { atMost: 50 } },
  rebuild_events_per_s: { unit: 'events/s', goal: { atLeast: 50_000 } },
  peak_rss_mb: { unit: 'MB', goal: { atMost: 300 } },
  command_p99_grown_vs_fresh: { unit: 'ratio', goal: { atMost: 1.5 } },
  projection_per_s_1: { unit: 'events/s' },
  projection_per_s_n: { unit: 'events/s' },
  projection_scaling: { unit: 'ratio', goal: { atLeast: 1.5 } },
} satisfies Record<string, { unit: string; goal?: Goal }>;

export type Goal = { atLeast: number } | { atMost: number };
export type FigureKey = keyof typeof FIGURES;
export type Figures = Partial<Record<FigureKey, number>>;

export const goalOf = (key: FigureKey): Goal | undefined => (FIGURES[key] as { goal?: Goal }).goal;

export const meets = (goal: Goal, value: number): boolean =>
  'atLeast' in goal ? value >= goal.atLeast : value <= goal.atMost;

export const describeGoal = (goal: Goal | undefined): string =>
  goal === undefined ? '—' : 'atLeast' in goal ? `≥ ${goal.atLeast}` : `≤ ${goal.atMost}`;
