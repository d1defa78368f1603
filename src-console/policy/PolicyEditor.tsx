// The policy file's editor: a textarea with line numbers, and each problem shown at its line.
// The textarea grows with the text (no scrollbar of its own), so the numbers, the text and the
// markers scroll together in one box and line N is always at the same height.
import type { ReactNode } from 'react';
import type { PolicyIssueWire } from '../../src-shared/wire/admin.js';

/** LINE_PX and PAD_PX must match .editor's line-height and padding in console.css. */
const LINE_PX = 20;
const PAD_PX = 6;

export function PolicyEditor(props: {
  text: string;
  issues: PolicyIssueWire[];
  onChange: (t: string) => void;
}): ReactNode {
  const lines = props.text.split('\n').length;
  const bad = new Map<number, PolicyIssueWire>();
  for (const i of props.issues) if (!bad.has(i.line)) bad.set(i.line, i);
  return (
    <div className="editor">
      <div className="gutter" aria-hidden="true">
        {Array.from({ length: lines }, (_, n) => (
          <div key={n} className={bad.has(n + 1) ? 'ln bad' : 'ln'}>
            {n + 1}
          </div>
        ))}
      </div>
      <textarea
        aria-label="Policy file"
        spellCheck={false}
        wrap="off"
        rows={lines + 1}
        value={props.text}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {[...bad.values()].map((i) => (
        <div
          key={`${i.line}:${i.column}`}
          className="issue"
          role="alert"
          data-line={i.line}
          style={{ top: PAD_PX + (i.line - 1) * LINE_PX }}
        >
          line {i.line}, column {i.column}: {i.problem}
        </div>
      ))}
    </div>
  );
}
