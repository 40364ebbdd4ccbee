import { describe, expect, it } from 'vitest';
import { MAX_EXPRESSION_DEPTH, parseScript } from '../../src/script/parser.js';
import { ScriptError } from '../../src/script/errors.js';

const wrap = (arg: string): string => `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, ${arg}, 4) = 0\n`;

function outcome(src: string): 'ok' | ScriptError {
  try {
    parseScript(src, { path: 'n.pkt' });
    return 'ok';
  } catch (e) {
    if (e instanceof ScriptError) return e;
    throw e;
  }
}

describe('deeply nested expressions', () => {
  it.each([
    ['braces', (n: number) => `${'{'.repeat(n)}1${'}'.repeat(n)}`],
    ['brackets', (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`],
    ['unclosed braces', (n: number) => `${'{'.repeat(n)}1`],
    ['a chain of |', (n: number) => Array(n + 1).fill('1').join('|')],
  ])('%s 100,000 deep are a syntax error at the line, not a stack overflow', (_name, make) => {
    const e = outcome(wrap(make(100_000)));
    expect(e).toBeInstanceOf(ScriptError);
    const err = e as ScriptError;
    expect(err.kind).toBe('syntax');
    expect(err.line).toBe(2);
    expect(err.detail).toMatch(new RegExp(`^n\\.pkt:2:\\d+: syntax error: .*at most ${MAX_EXPRESSION_DEPTH} nested`));
  });

  it('parses nesting within the bound', () => {
    const n = MAX_EXPRESSION_DEPTH - 10;
    expect(outcome(wrap(`${'['.repeat(n)}1${']'.repeat(n)}`))).toBe('ok');
    expect(outcome(wrap(Array(n).fill('1').join('|')))).toBe('ok');
  });
});
